"""The figures stage (talkbuild.figures) on tiny projects made in a temporary folder.

Each project has scripts/*.py that write small files into figures/ and name
them in $FIGKIT_OUTPUTS, and a small package scripts/kit/ standing in for
figkit. A few tests copy the real figkit to check what it promises the
pipeline (byte-stable figures, a memo computed once).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from talkbuild.figures import regenerate

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
    """Log that a script ran (the tests count runs) and when (they check overlap)."""
    with open(ROOT / "runs.log", "a") as fh:
        fh.write(f"{name} {time.time()}\\n")
'''

SCRIPT = '''
"""A tiny experiment: {name}."""
import time

from kit import save, ran, GREETING
{imports}

DELAY = {delay}  # seconds of "training"


def main():
    start = time.time()
    time.sleep(DELAY)
    ran("{name}")
    save("{name}.txt", f"{{GREETING}} from {name}")
    save("{name}.json", '{{"start": %r, "end": %r}}' % (start, time.time()))


if __name__ == "__main__":
    main()
'''


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def add_script(project: Path, name: str, *, imports: str = "", delay: float = 0.0) -> Path:
    return write(
        project / "scripts" / f"{name}.py", SCRIPT.format(name=name, imports=imports, delay=delay)
    )


@pytest.fixture(params=["fork", "subprocess"])
def workers(request, monkeypatch):
    """Run a test with the fork server and with plain subprocesses."""
    monkeypatch.setenv("TALKBUILD_WORKERS", request.param)
    return request.param


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
    diagnostics = regenerate(project / "scripts", project / "figures", progress=stream, **options)
    return diagnostics, stream.getvalue()


def runs(project: Path) -> list[str]:
    """Which scripts have run so far, in order; then forget them."""
    log = project / "runs.log"
    if not log.exists():
        return []
    names = sorted(line.split()[0] for line in log.read_text().splitlines())
    log.unlink()
    return names


def test_every_script_runs_on_the_first_build_and_its_outputs_are_written(project):
    diagnostics, printed = build(project)
    assert diagnostics == []
    assert runs(project) == ["alpha", "beta"]
    assert (project / "figures" / "alpha.txt").read_text() == "hello from alpha"
    assert "figures: ok alpha" in printed
    assert "0 up to date, 2 regenerated in" in printed


def test_a_second_build_runs_nothing(project):
    build(project)
    runs(project)
    diagnostics, printed = build(project)
    assert (diagnostics, runs(project)) == ([], [])
    assert printed == "figures: 2 up to date\n"


def test_stamps_record_key_outputs_and_duration(project):
    build(project)
    stamps = json.loads((project / "figures" / ".cache" / "stamps.json").read_text())
    alpha = stamps["scripts"]["alpha"]
    assert set(alpha["outputs"]) == {"figures/alpha.txt", "figures/alpha.json"}
    assert len(alpha["key"]) == 64 and alpha["duration"] > 0


def test_editing_a_script_reruns_only_that_script(project):
    build(project)
    runs(project)
    script = project / "scripts" / "beta.py"
    script.write_text(script.read_text().replace("DELAY = 0.0", "DELAY = 0.01"))
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
    assert runs(project) == ["alpha", "beta"]


def test_editing_a_data_file_of_the_shared_package_reruns_every_script(project):
    build(project)
    runs(project)
    write(project / "scripts" / "kit" / "greeting.txt", "hi\n")
    build(project)
    assert runs(project) == ["alpha", "beta"]
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
    shutil.copytree(project, copy)  # new paths, new modification times
    for path in (copy / "scripts").rglob("*.py"):
        path.touch()
    diagnostics, printed = build(copy)
    assert (diagnostics, runs(copy)) == ([], [])
    assert printed == "figures: 2 up to date\n"


def test_a_new_script_runs_and_a_removed_one_is_forgotten(project):
    build(project)
    runs(project)
    add_script(project, "gamma")
    (project / "scripts" / "beta.py").unlink()
    _, printed = build(project)
    assert runs(project) == ["gamma"]
    stamps = json.loads((project / "figures" / ".cache" / "stamps.json").read_text())
    assert set(stamps["scripts"]) == {"alpha", "gamma"}
    assert "1 up to date, 1 regenerated" in printed


def test_scripts_run_in_parallel(project, workers):
    add_script(project, "alpha", delay=0.5)
    add_script(project, "beta", delay=0.5)
    diagnostics, printed = build(project, jobs=2)
    assert diagnostics == []
    alpha, beta = (
        json.loads((project / "figures" / f"{n}.json").read_text()) for n in ("alpha", "beta")
    )
    assert alpha["start"] < beta["end"] and beta["start"] < alpha["end"]
    assert "figures: running alpha, beta" in printed


def test_each_parallel_script_gets_its_share_of_the_cores(project, monkeypatch):
    monkeypatch.setattr("talkbuild.figures.cores", lambda: 4)
    write(
        project / "scripts" / "threads.py",
        """
        import os
        from kit import save
        save("threads.txt", os.environ["OMP_NUM_THREADS"] + " " + os.environ["MKL_NUM_THREADS"])
    """,
    )
    build(project, jobs=2)
    assert (project / "figures" / "threads.txt").read_text() == "2 2"


def test_one_job_at_a_time_when_jobs_is_one(project):
    add_script(project, "alpha", delay=0.2)
    add_script(project, "beta", delay=0.2)
    build(project, jobs=1)
    alpha, beta = (
        json.loads((project / "figures" / f"{n}.json").read_text()) for n in ("alpha", "beta")
    )
    assert alpha["end"] <= beta["start"] or beta["end"] <= alpha["start"]


def test_an_idle_script_lends_its_slot_to_the_next(project):
    write(
        project / "scripts" / "waiting.py",
        """
        import time
        from kit import save
        time.sleep(2.5)  # as if waiting for another script to train a shared network
        save("waiting.txt", str(time.time()))
    """,
    )
    write(
        project / "scripts" / "working.py",
        """
        import time
        from kit import save
        save("working.txt", str(time.time()))
    """,
    )
    (project / "scripts" / "alpha.py").unlink()
    (project / "scripts" / "beta.py").unlink()
    build(project, jobs=1)  # never-timed scripts, the most code first: waiting
    finished = {
        n: float((project / "figures" / f"{n}.txt").read_text()) for n in ("waiting", "working")
    }
    assert finished["working"] < finished["waiting"]


def test_a_failing_script_is_reported_with_its_traceback_and_the_others_still_run(project, workers):
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
    assert failure.path == Path("scripts/broken.py")
    assert failure.line == 5  # the deepest frame in the script: return 1 / 0
    assert failure.is_error
    assert failure.message.startswith("script failed (exit 1):\nTraceback")
    assert failure.message.endswith("ZeroDivisionError: division by zero")
    assert "runpy" not in failure.message
    assert str(failure).startswith("scripts/broken.py:5: script failed (exit 1):")
    assert runs(project) == ["alpha", "beta"]
    assert (project / "figures" / "alpha.txt").exists()
    assert "figures: FAILED broken (exit 1)" in printed
    assert "2 regenerated, 1 failed" in printed


def test_a_syntax_error_is_reported_at_its_line(project):
    write(project / "scripts" / "typo.py", "x = 1\ny = (\n")
    [failure], _ = build(project)
    assert failure.path == Path("scripts/typo.py")
    assert failure.line == 2
    assert "SyntaxError" in failure.message


def test_an_exit_status_and_a_signal_are_reported(project, workers):
    write(project / "scripts" / "quits.py", "import sys\nsys.exit(3)\n")
    write(
        project / "scripts" / "killed.py",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    )
    diagnostics, _ = build(project)
    messages = {d.path.name: d.message for d in diagnostics}
    assert messages["quits.py"] == "script failed (exit 3) and printed nothing on stderr"
    assert messages["killed.py"].startswith("script failed (killed by SIGKILL)")


def test_a_failed_script_runs_again_next_time(project):
    write(project / "scripts" / "broken.py", "raise RuntimeError('not yet')\n")
    build(project)
    runs(project)
    diagnostics, _ = build(project)
    assert [d.path.name for d in diagnostics] == ["broken.py"]
    assert runs(project) == []
    stamps = json.loads((project / "figures" / ".cache" / "stamps.json").read_text())
    assert "broken" not in stamps["scripts"]


def test_force_reruns_everything_and_empties_the_memo(project):
    build(project)
    runs(project)
    memo = project / "figures" / ".cache" / "memo" / "network.pickle"
    memo.parent.mkdir(parents=True)
    memo.write_bytes(b"a trained network")
    build(project, force=True)
    assert runs(project) == ["alpha", "beta"]
    assert not memo.exists()


def test_longest_script_starts_first(project):
    add_script(project, "alpha", delay=0.3)
    build(project)
    add_script(project, "alpha", delay=0.31)
    add_script(project, "beta", delay=0.01)
    _, printed = build(project, jobs=1)
    assert printed.index("running alpha") < printed.index("running beta")


def test_never_timed_scripts_start_first_the_ones_with_most_code_first(project):
    build(project)  # alpha and beta are timed now
    write(
        project / "scripts" / "quick.py",
        """
        from kit import save
        save("quick.txt", "quick")
    """,
    )
    write(
        project / "scripts" / "training.py",
        """
        from kit import save
        from _text import LONG_TEXT  # a repository import: its code counts too
        save("training.txt", LONG_TEXT)
    """,
    )
    write(project / "scripts" / "_text.py", f"LONG_TEXT = {'x' * 2000!r}\n")
    add_script(project, "alpha", delay=0.01)  # changed, so stale; timed last build
    _, printed = build(project, jobs=1)
    assert printed.index("running training") < printed.index("running quick")  # not by name
    assert printed.index("running quick") < printed.index("running alpha")
    assert "running beta" not in printed


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
            import time
            from figkit import FIGURES, save_results
            from figkit.cache import memo


            def train():
                with open(FIGURES.parent / "trainings.log", "a") as fh:
                    fh.write("trained\\n")
                time.sleep(0.3)
                return [1.0, 2.0]


            first = memo("network", {"steps": 10}, train)
            assert memo("network", {"steps": 10}, train) == first
            save_results(__file__, {"weights": first})
        """,
        )


def test_a_memoised_network_is_computed_once_per_build(figkit_project, monkeypatch):
    write_memo_scripts(figkit_project)
    monkeypatch.setenv("FIGKIT_MEMO", "process")  # the build shares all the same
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


def test_a_no_op_build_is_quick(project):
    build(project)
    start = time.perf_counter()
    build(project)
    # Generous for a loaded CI machine; `make bench` measures the real figure (~0.2 s).
    assert time.perf_counter() - start < 3.0
