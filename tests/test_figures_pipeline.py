"""The figures stage (talkbuild.figures) on tiny projects made in a temporary folder.

Each project has scripts/*.py that write small files into figures/ and name
them in $FIGKIT_OUTPUTS, and a small package scripts/kit/ standing in for
figkit. Where order or overlap matters, the fake scripts wait on files the
others write (handshakes), never on the clock. A few tests copy the real figkit
to check what it promises the pipeline (byte-stable figures, a memo computed once).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal as signal_module
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from talkbuild.figures import main as figures_main
from talkbuild.figures import regenerate, stale
from talkbuild.figures.processes import Run
from talkbuild.figures.progress import REPORT_EVERY, Display
from talkbuild.files import display_path

pytestmark = pytest.mark.figures

REPO = Path(__file__).resolve().parents[1]

KIT = '''
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "figures"
GREETING = (Path(__file__).with_name("greeting.txt")).read_text().strip()


def save(name, text):
    """Write figures/<name> and tell the build, as figkit does."""
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / name
    path.write_text(text)
    manifest = os.environ.get("FIGKIT_OUTPUTS")
    if manifest:
        with open(manifest, "a") as fh:
            fh.write(f"{path.resolve()}\\n")


def ran(name):
    """Log that a script ran (the tests count runs)."""
    with open(ROOT / "runs.log", "a") as fh:
        fh.write(f"{name}\\n")


def signal(name):
    (ROOT / f"{name}.signal").write_text("")


def await_signal(name, seconds=20.0):
    """A handshake: wait until another process called signal(name); False on timeout."""
    deadline = time.monotonic() + seconds
    while not (ROOT / f"{name}.signal").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
'''

SCRIPT = '''
"""A tiny experiment: {name}."""
from kit import GREETING, ran, save
{imports}


def main():
    ran("{name}")
    save("{name}.txt", f"{{GREETING}} from {name}")


if __name__ == "__main__":
    main()
'''


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def add_script(project: Path, name: str, *, imports: str = "") -> Path:
    return write(project / "scripts" / f"{name}.py", SCRIPT.format(name=name, imports=imports))


def write_job(project: Path, train_body: str) -> None:
    """kit/extra.py (alpha imports it) declaring one job, "training", that runs `train()`."""
    module = "FACTOR = 2\n\n\ndef build_jobs():\n"
    module += '    return [{"name": "training", "function": "train"}]\n\n\n'
    write(project / "scripts" / "kit" / "extra.py", module + f"def train():\n    {train_body}\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """scripts/alpha.py imports kit.extra; scripts/beta.py only kit."""
    write(tmp_path / "scripts" / "kit" / "__init__.py", KIT)
    write(tmp_path / "scripts" / "kit" / "greeting.txt", "hello\n")
    write(tmp_path / "scripts" / "kit" / "extra.py", "FACTOR = 2\n")
    add_script(tmp_path, "alpha", imports="from kit.extra import FACTOR")
    add_script(tmp_path, "beta")
    write(tmp_path / "scripts" / "README.md", "Experiment scripts.\n")
    return tmp_path


def build(project: Path, **options) -> tuple[list, str]:
    """Run the figures stage; return its diagnostics and what it printed."""
    stream = io.StringIO()
    diagnostics = regenerate(project, progress=stream, **options)
    return diagnostics, stream.getvalue()


def runs(project: Path) -> list[str]:
    """Which scripts have run so far, in order; then forget them."""
    log = project / "runs.log"
    if not log.exists():
        return []
    names = log.read_text().split()
    log.unlink()
    return names


def stamps(project: Path) -> dict:
    return json.loads((project / "figures" / "stamps.json").read_text())["scripts"]


# --- What is stale ---------------------------------------------------------------------


def test_every_script_runs_on_the_first_build_and_its_outputs_are_written(project):
    diagnostics, printed = build(project)
    assert diagnostics == []
    assert sorted(runs(project)) == ["alpha", "beta"]
    assert (project / "figures" / "alpha.txt").read_text() == "hello from alpha"
    assert "figures: ok alpha" in printed
    assert printed.endswith("figures: 0 up to date, 2 regenerated\n")


def test_a_second_build_runs_nothing_and_says_so_in_one_line(project):
    build(project)
    runs(project)
    diagnostics, printed = build(project)
    assert (diagnostics, runs(project)) == ([], [])
    assert printed == "figures: 2 scripts up to date\n"


def test_stamps_hold_only_what_is_the_same_on_every_machine(project):
    build(project)
    alpha = stamps(project)["alpha"]
    assert set(alpha) == {"environment", "inputs", "outputs"}  # no times, no machine
    assert set(alpha["inputs"]) == {
        "scripts/alpha.py",
        "scripts/kit/__init__.py",
        "scripts/kit/extra.py",
        "scripts/kit/greeting.txt",
    }
    assert set(alpha["outputs"]) == {"figures/alpha.txt"}
    assert set(alpha["environment"]) == {"python", "numpy", "torch", "matplotlib"}
    assert str(project) not in (project / "figures" / "stamps.json").read_text()


def test_editing_a_script_reruns_only_that_script(project):
    build(project)
    runs(project)
    script = project / "scripts" / "beta.py"
    script.write_text(script.read_text() + "# edited\n")
    build(project)
    assert runs(project) == ["beta"]


def test_editing_an_imported_module_reruns_the_scripts_that_import_it(project):
    build(project)
    runs(project)
    write(project / "scripts" / "kit" / "extra.py", "FACTOR = 3\n")
    build(project)
    assert runs(project) == ["alpha"]


def test_editing_a_module_imported_through_another_module_reruns_its_scripts(project):
    write(project / "scripts" / "kit" / "deep.py", "DEPTH = 1\n")
    write(project / "scripts" / "kit" / "extra.py", "from .deep import DEPTH\nFACTOR = 2\n")
    build(project)
    runs(project)
    write(project / "scripts" / "kit" / "deep.py", "DEPTH = 2\n")
    build(project)
    assert runs(project) == ["alpha"]


def test_editing_the_shared_package_reruns_every_script(project):
    build(project)
    runs(project)
    init = project / "scripts" / "kit" / "__init__.py"
    init.write_text(init.read_text() + "\n# a comment changes the bytes\n")
    build(project)
    assert sorted(runs(project)) == ["alpha", "beta"]


def test_editing_a_data_file_of_the_shared_package_reruns_every_script(project):
    build(project)
    runs(project)
    write(project / "scripts" / "kit" / "greeting.txt", "hi\n")
    build(project)
    assert sorted(runs(project)) == ["alpha", "beta"]
    assert (project / "figures" / "beta.txt").read_text() == "hi from beta"


def test_editing_an_unrelated_file_runs_nothing(project):
    build(project)
    runs(project)
    write(project / "scripts" / "README.md", "Other words.\n")
    write(project / "slides" / "talk.md", "# A slide\n")
    build(project)
    assert runs(project) == []


def test_a_missing_output_reruns_its_script(project):
    build(project)
    runs(project)
    (project / "figures" / "alpha.txt").unlink()
    build(project)
    assert runs(project) == ["alpha"]


def test_a_changed_output_reruns_its_script(project):
    build(project)
    runs(project)
    (project / "figures" / "beta.txt").write_text("edited by hand")
    build(project)
    assert runs(project) == ["beta"]
    assert (project / "figures" / "beta.txt").read_text() == "hello from beta"


def test_timestamps_do_not_matter_and_a_copy_stays_fresh(project, tmp_path_factory):
    build(project)
    runs(project)
    copy = tmp_path_factory.mktemp("clone") / "project"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".cache"))  # as git clones
    for path in (copy / "scripts").rglob("*.py"):
        path.touch()
    diagnostics, printed = build(copy)
    assert (diagnostics, runs(copy)) == ([], [])
    assert printed == "figures: 2 scripts up to date\n"


def test_a_new_script_runs_and_a_removed_ones_outputs_and_stamp_are_removed(project):
    build(project)
    runs(project)
    add_script(project, "gamma")
    (project / "scripts" / "beta.py").unlink()
    _, printed = build(project)
    assert runs(project) == ["gamma"]
    assert set(stamps(project)) == {"alpha", "gamma"}
    assert not (project / "figures" / "beta.txt").exists()
    assert (project / "figures" / "alpha.txt").exists()
    assert "1 up to date, 1 regenerated" in printed


# --- The check: stale names each script and why, and runs nothing -----------------------


def test_the_check_names_each_stale_script_and_the_input_that_changed(project):
    build(project)
    runs(project)
    write(project / "scripts" / "kit" / "extra.py", "FACTOR = 3\n")
    (project / "figures" / "beta.txt").unlink()
    add_script(project, "gamma")
    assert stale(project) == {
        "scripts/alpha.py": ["scripts/kit/extra.py changed"],
        "scripts/beta.py": ["output figures/beta.txt missing"],
        "scripts/gamma.py": ["no stamp: never generated"],
    }
    assert runs(project) == []


def test_the_check_names_a_removed_script_whose_outputs_remain(project):
    build(project)
    (project / "scripts" / "beta.py").unlink()
    assert stale(project) == {
        "scripts/beta.py": ["removed, but its stamp and figures/beta.txt remain"]
    }


def test_the_check_exits_1_when_stale_and_0_after_regenerating(project, capsys):
    build(project)
    script = project / "scripts" / "beta.py"
    script.write_text(script.read_text() + "# edited\n")
    assert figures_main([str(project), "--check"]) == 1
    err = capsys.readouterr().err
    assert "scripts/beta.py: stale: scripts/beta.py changed\n" in err
    assert "run `make figures`" in err
    assert figures_main([str(project)]) == 0
    assert figures_main([str(project), "--check"]) == 0


# --- Running: processes, jobs, threads -----------------------------------------------


def test_scripts_run_in_parallel(project):
    for me, other in (("alpha", "beta"), ("beta", "alpha")):
        write(
            project / "scripts" / f"{me}.py",
            f"""
            from kit import await_signal, save, signal
            signal("{me}")
            save("{me}.txt", str(await_signal("{other}")))  # both wait: both must be running
            """,
        )
    diagnostics, _ = build(project, jobs=2)
    assert diagnostics == []
    assert (project / "figures" / "alpha.txt").read_text() == "True"
    assert (project / "figures" / "beta.txt").read_text() == "True"


def test_a_job_runs_before_the_scripts_that_import_its_module_and_not_the_others(project):
    write(
        project / "scripts" / "kit" / "extra.py",
        """
        from kit import await_signal, ran

        FACTOR = 2


        def build_jobs():
            return [{"name": "training", "function": "train", "kwargs": {"steps": 3}}]


        def train(steps):
            ran("training")
            await_signal("beta")  # beta, which does not need it, runs meanwhile
        """,
    )
    write(
        project / "scripts" / "beta.py",
        'from kit import ran, signal\nran("beta")\nsignal("beta")\n',
    )
    diagnostics, printed = build(project, jobs=2)
    assert diagnostics == []
    order = runs(project)
    assert order.index("training") < order.index("alpha")
    assert "figures: ok training" in printed


def test_a_failed_job_is_reported_and_the_scripts_that_need_it_do_not_run(project):
    write_job(project, 'raise RuntimeError("diverged")')
    diagnostics, _ = build(project)
    by_path = {d.path: d for d in diagnostics}
    job = by_path[display_path(project / "scripts" / "kit" / "extra.py")]
    assert job.line == 9
    assert job.message.startswith("training failed (exit 1):")
    assert job.message.endswith("RuntimeError: diverged")
    alpha = by_path[display_path(project / "scripts" / "alpha.py")]
    assert alpha.message == "not run: it needs training, which failed"
    assert runs(project) == ["beta"]
    assert "alpha" not in stamps(project)


EVERY_CORE = len(os.sched_getaffinity(0))
THREADS = "import os, torch\nfrom kit import save\n"  # a script that saves its torch threads
SAVE_THREADS = (
    'save("{name}.txt", f"{{torch.get_num_threads()}} {{os.environ[\'OMP_NUM_THREADS\']}}")'
)


def test_each_run_gets_one_thread_and_one_started_last_every_core(project):
    for name in ("alpha", "beta"):
        write(project / "scripts" / f"{name}.py", THREADS + SAVE_THREADS.format(name=name))
    (project / "figures" / ".cache").mkdir(parents=True)
    (project / "figures" / ".cache" / "durations.json").write_text('{"alpha": 9, "beta": 1}')
    build(project, jobs=1)  # alpha first (longer last time): beta is still waiting
    assert (project / "figures" / "alpha.txt").read_text() == "1 1"
    assert (project / "figures" / "beta.txt").read_text() == f"{EVERY_CORE} 1"


WIDENED = """
import torch
from kit import await_signal, save, signal


def build_jobs():
    return [{"name": "training", "function": "train"}]


def train():
    signal("training")
    for _ in range(2000):  # until the build widens this job, at most 20 s
        if torch.get_num_threads() > 1 or await_signal("never", seconds=0.01):
            break
    save("training.txt", str(torch.get_num_threads()))
"""


@pytest.mark.skipif(EVERY_CORE < 2, reason="widening needs a second core")
@pytest.mark.parametrize("beside", [True, False])
def test_a_job_left_alone_with_nothing_else_to_start_gets_every_core(project, beside):
    """beside: beta runs next to the job (one thread each), then ends. Else the job
    starts alone with one thread (alpha, which needs it, waits) and is widened at
    once: before it can handle the signal, which must not kill it."""
    write(project / "scripts" / "kit" / "extra.py", "FACTOR = 2\n" + WIDENED)
    beta = project / "scripts" / "beta.py"
    if beside:
        write(beta, 'from kit import await_signal\nawait_signal("training")\n')
    else:
        beta.unlink()
    diagnostics, printed = build(project, jobs=2)
    assert diagnostics == []
    if beside:
        assert printed.index("running beta") < printed.index("running training")
    assert (project / "figures" / "training.txt").read_text() == str(EVERY_CORE)
    assert runs(project)[-1] == "alpha"


@pytest.mark.skipif(EVERY_CORE < 2, reason="widening needs a second core")
def test_a_script_left_alone_keeps_the_threads_it_set(project):
    """figkit keeps small networks on one thread; the build must not undo that. A
    negative, so it takes time: the build's loop comes round every 0.5 s."""
    write(
        project / "scripts" / "alpha.py",
        THREADS
        + """
        from kit import await_signal, signal
        signal("alpha")
        await_signal("beta")  # beta ends now: alpha is alone
        seen = {torch.get_num_threads()}
        for _ in range(150):
            await_signal("never", seconds=0.01)
            seen.add(torch.get_num_threads())
        save("alpha.txt", " ".join(map(str, sorted(seen))))
        """.replace("\n        ", "\n"),
    )
    write(
        project / "scripts" / "beta.py",
        'from kit import await_signal, signal\nawait_signal("alpha")\nsignal("beta")\n',
    )
    assert build(project, jobs=2)[0] == []
    assert (project / "figures" / "alpha.txt").read_text() == "1"


def test_never_timed_scripts_start_before_the_jobs_and_then_the_longest_first(project):
    write_job(project, "pass")
    _, printed = build(project, jobs=1)
    assert printed.index("running beta") < printed.index("running training")
    (project / "figures" / ".cache" / "durations.json").write_text(
        '{"alpha": 1, "beta": 2, "training": 9}'
    )
    _, printed = build(project, jobs=1, force=True)
    order = [printed.index(f"running {name}") for name in ("training", "beta", "alpha")]
    assert order == sorted(order)


def test_the_longest_script_by_the_last_build_starts_first(project):
    build(project)
    (project / "figures" / ".cache" / "durations.json").write_text('{"alpha": 1, "beta": 9}')
    _, printed = build(project, jobs=1, force=True)
    assert printed.index("running beta") < printed.index("running alpha")


def test_a_failing_script_is_reported_with_its_traceback_and_the_others_still_run(project):
    write(
        project / "scripts" / "broken.py",
        '''
        """Fails while computing."""


        def compute():
            return 1 / 0


        if __name__ == "__main__":
            print("some output first")
            compute()
        ''',
    )
    diagnostics, printed = build(project)
    assert len(diagnostics) == 1
    failure = diagnostics[0]
    assert failure.path == display_path(project / "scripts" / "broken.py")
    assert failure.line == 5  # the deepest frame in the script: return 1 / 0
    assert failure.is_error
    assert failure.message.startswith("script failed (exit 1):\nTraceback")
    assert failure.message.endswith("ZeroDivisionError: division by zero")
    assert "runpy" not in failure.message and "multiprocessing" not in failure.message
    assert sorted(runs(project)) == ["alpha", "beta"]
    assert "figures: FAILED broken (exit 1)" in printed
    assert "2 regenerated, 1 failed" in printed
    logs = project / "figures" / ".cache" / "logs"
    assert (logs / "broken.out").read_text() == "some output first\n"


def test_a_syntax_error_is_reported_at_its_line(project):
    write(project / "scripts" / "typo.py", "x = 1\ny = (\n")
    [failure], _ = build(project)
    assert failure.path == display_path(project / "scripts" / "typo.py")
    assert failure.line == 2
    assert "SyntaxError" in failure.message


def test_an_exit_status_and_a_signal_are_reported(project):
    write(project / "scripts" / "quits.py", "import sys\nsys.exit(3)\n")
    write(
        project / "scripts" / "killed.py",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    )
    diagnostics, _ = build(project)
    messages = {Path(d.path).name: d.message for d in diagnostics}
    assert messages["quits.py"] == "script failed (exit 3) and printed nothing on stderr"
    assert messages["killed.py"].startswith("script failed (killed by SIGKILL)")
    assert sorted(runs(project)) == ["alpha", "beta"]


def test_a_failed_script_runs_again_next_time(project):
    write(project / "scripts" / "broken.py", "raise RuntimeError('not yet')\n")
    build(project)
    runs(project)
    diagnostics, _ = build(project)
    assert [Path(d.path).name for d in diagnostics] == ["broken.py"]
    assert runs(project) == []
    assert "broken" not in stamps(project)


def test_force_reruns_everything_and_empties_the_memo(project):
    build(project)
    runs(project)
    memo = project / "figures" / ".cache" / "memo" / "network.pickle"
    memo.parent.mkdir(parents=True)
    memo.write_bytes(b"a trained network")
    build(project, force=True)
    assert sorted(runs(project)) == ["alpha", "beta"]
    assert not memo.exists()


# --- Progress ---------------------------------------------------------------------------


def a_run(tmp_path: Path, name: str, started: float, estimate=None, steps=None) -> Run:
    run = Run(name, name, tmp_path, estimate=estimate, started=started)
    if steps:
        run.file("progress").write_text(f"{steps[0]} {steps[1]}\n")
    return run


def test_progress_shows_steps_of_a_training_and_time_against_the_last_run(tmp_path, monkeypatch):
    monkeypatch.setattr("time.monotonic", lambda: 1000.0)
    stream = io.StringIO()
    display = Display(stream, total=3)
    training = a_run(tmp_path, "e3 seed 1", 980.0, steps=(1000, 4000))
    plot = a_run(tmp_path, "minima", 990.0, estimate=40.0)
    display._last = 1000.0 - REPORT_EVERY
    display.update([training, plot], [], slots=2)
    assert stream.getvalue() == (
        "figures: 0 of 3 done, about 45 s left; "
        "running e3 seed 1 1000/4000 steps, 20 s, minima 10 s of ~40 s\n"
    )


def test_progress_without_a_terminal_is_quiet_between_reports(tmp_path, monkeypatch):
    monkeypatch.setattr("time.monotonic", lambda: 1000.0)
    stream = io.StringIO()
    display = Display(stream, total=1)
    display.update([a_run(tmp_path, "never-timed", 990.0)], [], slots=2)
    assert stream.getvalue() == ""


def test_progress_on_a_terminal_is_one_block_redrawn_in_place(tmp_path):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    display = Display(stream, total=2)
    run = a_run(tmp_path, "e3 seed 1", 0.0, steps=(2000, 4000))
    display.update([run], [], slots=2)
    display._live.refresh()
    display.finished(run, "figures: ok e3 seed 1 1.0 s")
    display.close()
    shown = stream.getvalue()
    assert "2000/4000 steps" in shown and "\x1b[" in shown  # drawn with cursor moves
    assert "figures: ok e3 seed 1 1.0 s" in shown


# --- The real figkit ---------------------------------------------------------------------


@pytest.fixture
def figkit_project(tmp_path: Path) -> Path:
    """A project with a copy of the real figkit."""
    shutil.copytree(
        REPO / "scripts" / "figkit",
        tmp_path / "scripts" / "figkit",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return tmp_path


def test_figures_are_byte_identical_from_run_to_run(figkit_project):
    write(
        figkit_project / "scripts" / "plots.py",
        """
        from figkit import save_results
        from figkit.plot import plt, save_figure, use_style

        use_style()
        for fmt in ("svg", "png"):
            fig, ax = plt.subplots()
            ax.plot([0, 1, 2], [0, 1, 0], label="a line")
            ax.legend()
            save_figure(fig, "tiny", fmt)
        save_results(__file__, {"value": 0.1})
        """,
    )
    figures = figkit_project / "figures"
    contents = []
    for _ in range(2):
        diagnostics, _ = build(figkit_project, force=True)
        assert diagnostics == []
        contents.append(
            {n: (figures / n).read_bytes() for n in ("tiny.svg", "tiny.png", "plots.json")}
        )
    assert contents[0] == contents[1]


def write_memo_scripts(project: Path, names=("first", "second", "third")) -> None:
    """Scripts that each ask twice for the same memoised "network"; every training
    appends a line to trainings.log."""
    for name in names:
        write(
            project / "scripts" / f"{name}.py",
            """
            from figkit import FIGURES, save_results
            from figkit.cache import memo


            def train():
                with open(FIGURES.parent / "trainings.log", "a") as fh:
                    fh.write("trained\\n")
                return [1.0, 2.0]


            first = memo("network", {"steps": 10}, train)
            assert memo("network", {"steps": 10}, train) == first
            save_results(__file__, {"weights": first})
            """,
        )


def test_a_memoised_network_is_computed_once_per_build(figkit_project, monkeypatch):
    write_memo_scripts(figkit_project)
    monkeypatch.setenv("FIGKIT_MEMO", "disk")
    diagnostics, _ = build(figkit_project, jobs=3)
    assert diagnostics == []
    assert (figkit_project / "trainings.log").read_text() == "trained\n"
    assert json.loads((figkit_project / "figures" / "third.json").read_text()) == {
        "weights": [1.0, 2.0]
    }


def run_alone(project: Path, name: str, memo_mode: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, f"scripts/{name}.py"],
        cwd=project,
        env={**os.environ, "FIGKIT_MEMO": memo_mode},
        capture_output=True,
        text=True,
    )


def test_process_memo_shares_within_a_script_only(figkit_project):
    """FIGKIT_MEMO=process, as the benchmark's naive loop runs the scripts: each script
    trains what it needs once, and nothing is shared between scripts."""
    write_memo_scripts(figkit_project, ("first", "second"))
    for name in ("first", "second"):
        assert run_alone(figkit_project, name, "process").returncode == 0
    assert (figkit_project / "trainings.log").read_text() == "trained\n" * 2
    assert not (figkit_project / "figures" / ".cache" / "memo").exists()
    for name in ("first", "second"):  # the default, disk, shares between separate runs
        assert run_alone(figkit_project, name, "disk").returncode == 0
    assert (figkit_project / "trainings.log").read_text() == "trained\n" * 3


def test_an_unknown_memo_mode_is_an_error(figkit_project):
    write_memo_scripts(figkit_project, ("first",))
    done = run_alone(figkit_project, "first", "shared")
    assert done.returncode != 0
    assert "FIGKIT_MEMO='shared': expected one of disk, process" in done.stderr


def test_the_e3_module_declares_every_training_of_its_sweeps_as_a_job():
    from figkit import dnn

    jobs = dnn.build_jobs()
    assert len({job["name"] for job in jobs}) == len(jobs) == 2 * len(dnn.SEEDS)
    assert {"seed_init": 0, "seed_noise": 0, "weight_decay": 0.0} in [j["kwargs"] for j in jobs]


def test_in_a_scratch_copy_of_the_talk_an_edited_script_is_stale_until_regenerated(
    regenerated_figures, tmp_path, capsys
):
    copy = tmp_path / "talk"
    for folder in ("scripts", "figures"):
        shutil.copytree(REPO / folder, copy / folder, ignore=shutil.ignore_patterns(".cache"))
    assert figures_main([str(copy), "--check"]) == 0  # a clone elsewhere agrees with the stamps
    capsys.readouterr()
    script = copy / "scripts" / "toy_examples.py"
    script.write_text(script.read_text() + "# edited, not regenerated\n")
    assert figures_main([str(copy), "--check"]) == 1
    assert capsys.readouterr().err.startswith(
        "scripts/toy_examples.py: stale: scripts/toy_examples.py changed\n"
        "figures: 1 stale; run `make figures`, commit figures/\n"
    )
    assert figures_main([str(copy)]) == 0  # what `make figures` runs
    assert "figures: 10 up to date, 1 regenerated" in capsys.readouterr().err
    assert figures_main([str(copy), "--check"]) == 0


def test_a_stopped_build_stops_the_scripts_it_started(tmp_path):
    """SIGTERM to build.py (a CI timeout, `kill`) leaves no figure script running."""
    started = tmp_path / "started"
    write(
        tmp_path / "scripts" / "slow.py",
        "import os, pathlib, time\n"
        f"pathlib.Path({str(started)!r}).write_text(str(os.getpid()))\n"
        "time.sleep(120)\n",
    )
    write(tmp_path / "slides" / "deck.md", "# A slide\n")
    build_py = Path(__file__).resolve().parents[1] / "build.py"
    out = tmp_path / "deck"
    process = subprocess.Popen(
        [sys.executable, str(build_py), str(tmp_path / "slides"), "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists() or not started.read_text():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        pid = int(started.read_text())
        process.send_signal(signal_module.SIGTERM)
        assert process.wait(timeout=30) != 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal_module.SIGKILL)
            pytest.fail("the script outlived the stopped build")
        assert not out.exists()
    finally:
        process.kill()
