"""The figures stage: run the experiment scripts whose figures are stale, in parallel.

    regenerate(scripts_dir, figures_dir, force=..., jobs=..., progress=...) -> diagnostics

1. Key every `scripts/*.py` by the content of what it runs (talkbuild.staleness)
   and keep the ones whose stamp does not match, or whose outputs are gone or
   changed. `force` takes them all and also empties the memo of trained
   networks (figures/.cache/memo), so "rebuild everything" includes training.
2. Run them `jobs` at a time (default: one per core), longest first by the
   durations of the last build (never-timed ones first, the most code first). Each process gets
   max(1, cores // jobs) threads through OMP_NUM_THREADS and friends, so the
   scripts do not fight over cores. The count is the same whichever scripts
   are stale (results can depend on it in the last bits), and it is also the
   faster choice here: most of the talk's networks are small, and two threads on
   one of them ran 5x slower than one on this 2-core machine (dropout: 83 s vs
   15 s); E3's trainings, the big ones, go about as fast side by side on one
   thread each as one after another on two (benchmarks/training_bound.py).
   A script that sits idle (waiting on the memo lock while another script
   trains the network it needs, or sleeping) lends its slot to the next one.
3. Each script's stdout and stderr go to figures/.cache/logs/<name>.out/.err.
   A failing script becomes a Diagnostic with the end of its traceback; the
   others still run. Its stamp is removed so it runs again next time.
4. Stamps are written (atomically) after every script, so an interrupted
   build keeps what it finished.

Scripts are independent: a network that several need is trained by whichever
asks first, under figkit.cache's file lock, and loaded by the rest.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import sys
import time
from collections import deque
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from talkbuild.diagnostics import Diagnostic
from talkbuild.staleness import Scanner, Stamps, find_scripts
from talkbuild.workers import PRELOADABLE, ForkServerLauncher, Run, SubprocessLauncher, cpu_ticks

TAIL_LINES = 15  # how much of a failing script's stderr a diagnostic quotes
IDLE_AFTER = 1.0  # seconds below IDLE_CPU share of a core before a script lends its slot
IDLE_CPU = 0.05
REPORT_EVERY = 30.0  # seconds between "still running" lines when progress is not a terminal


def regenerate(
    scripts_dir: Path,
    figures_dir: Path,
    *,
    force: bool = False,
    jobs: int | None = None,
    progress: TextIO | None = None,
) -> list[Diagnostic]:
    """Bring every figure up to date; return an error diagnostic per failed script."""
    scripts_dir = Path(scripts_dir).resolve()
    figures_dir = Path(figures_dir).resolve()
    report = Progress(progress if progress is not None else sys.stderr)
    cache = figures_dir / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    with _exclusive(cache / "build.lock", report):
        return Pipeline(scripts_dir, cache, report, force=force, jobs=jobs).run()


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class Pipeline:
    def __init__(
        self, scripts_dir: Path, cache: Path, report: Progress, *, force: bool, jobs: int | None
    ):
        self.scripts_dir = scripts_dir
        self.root = scripts_dir.parent  # scripts run from here, stamps are relative to it
        self.cache = cache
        self.logs = cache / "logs"
        self.report = report
        self.force = force
        self.jobs = max(1, jobs or cores())
        self.stamps = Stamps(cache / "stamps.json", self.root)

    def run(self) -> list[Diagnostic]:
        begin = time.monotonic()
        scanner = Scanner(self.scripts_dir, self.root)
        scripts = find_scripts(self.scripts_dir)
        deps = {s: scanner.dependencies(s) for s in scripts}
        keys = {s.stem: scanner.key(deps[s]) for s in scripts}
        removed = set(self.stamps.scripts) - set(keys)
        for name in removed:
            self.stamps.forget(name)
        if self.force:
            shutil.rmtree(self.cache / "memo", ignore_errors=True)
            stale = list(scripts)
        else:
            stale = [s for s in scripts if not self.stamps.is_fresh(s.stem, keys[s.stem])]
        if not stale:
            if removed:
                self.stamps.save()
            self.report.line(f"figures: {len(scripts)} up to date")
            return []

        stale.sort(key=lambda s: self._order(s, deps[s]))
        external = set().union(*(deps[s].external for s in stale))
        preload = [m for m in PRELOADABLE if any(e == m or e.startswith(m + ".") for e in external)]
        threads = max(1, cores() // self.jobs)
        diagnostics = self._run_all(stale, keys, preload, threads)

        failed = len(diagnostics)
        summary = (
            f"figures: {len(scripts) - len(stale)} up to date, {len(stale) - failed} regenerated"
        )
        if failed:
            summary += f", {failed} failed"
        self.report.line(f"{summary} in {time.monotonic() - begin:.1f} s")
        return diagnostics

    def _order(self, script: Path, deps) -> tuple:
        """Sort key: longest first by the last build's durations. Never-timed scripts
        (a fresh clone) go before all others, and among them the ones with the most
        code (script and repository imports, in bytes) first: a rough guess at their
        work, which on a fresh clone starts the trainings before the quick plots."""
        duration = self.stamps.duration(script.stem)
        if duration is None:
            code = sum(f.stat().st_size for f in deps.files if f.is_file())
            return (0, -code, script.stem)
        return (1, -duration, script.stem)

    def _run_all(
        self, stale: list[Path], keys: dict[str, str], preload: list[str], threads: int
    ) -> list[Diagnostic]:
        self.logs.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            {
                var: str(threads)
                for var in (
                    "OMP_NUM_THREADS",
                    "MKL_NUM_THREADS",
                    "OPENBLAS_NUM_THREADS",
                    "FIGKIT_THREADS",
                )
            }
        )
        env["MPLBACKEND"] = "Agg"
        env["PYTHONHASHSEED"] = "0"  # same set/dict order in every run: byte-stable outputs
        env["FIGKIT_MEMO"] = "disk"  # scripts share trained networks (figkit.cache)
        if os.environ.get("TALKBUILD_WORKERS", "fork") == "subprocess" or not hasattr(os, "fork"):
            launcher = SubprocessLauncher(env, self.root)
        else:
            launcher = ForkServerLauncher(env, self.root, preload, self.logs / "forkserver.err")

        pending = deque(stale)
        running: dict[str, Run] = {}
        idle = IdleWatch()
        diagnostics = []
        try:
            while pending or running:
                capacity = self.jobs + min(self.jobs, idle.count(running.values()))
                started = False
                while pending and len(running) < capacity:
                    run = self._run_for(pending.popleft())
                    launcher.start(run)
                    running[run.name] = run
                    started = True
                if started:
                    self.report.line(f"figures: running {', '.join(running)}")
                finished = launcher.wait(0.25)
                for note in launcher.notes:
                    self.report.line(f"figures: {note}")
                launcher.notes.clear()
                for run in finished:
                    del running[run.name]
                    if run.exit == 0:
                        self.stamps.record(run.name, keys[run.name], _outputs(run), run.seconds)
                        self.report.line(f"figures: ok {run.name} {run.seconds:.1f} s")
                    else:
                        self.stamps.forget(run.name)
                        diagnostics.append(failure(run, self.root))
                        self.report.line(
                            f"figures: FAILED {run.name} ({_status(run.exit)}) {run.seconds:.1f} s"
                        )
                if finished:
                    self.stamps.save()
                self.report.status(running.values())
        finally:
            launcher.close()
        return diagnostics

    def _run_for(self, script: Path) -> Run:
        name = script.stem
        run = Run(
            name,
            script,
            self.logs / f"{name}.out",
            self.logs / f"{name}.err",
            self.logs / f"{name}.outputs",
        )
        run.outputs.unlink(missing_ok=True)
        run.env = {"FIGKIT_OUTPUTS": str(run.outputs)}
        return run


def _outputs(run: Run) -> list[Path]:
    """The files the script reported writing (figkit appends them to $FIGKIT_OUTPUTS)."""
    try:
        lines = run.outputs.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [Path(p) for p in dict.fromkeys(line.strip() for line in lines) if p]


def _status(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')


def failure(run: Run, root: Path) -> Diagnostic:
    """script failed (exit N): the end of its stderr, at the deepest line of the script it names."""
    try:
        text = run.stderr.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    lines = text.rstrip().splitlines()
    line = None
    for entry in lines:
        match = _FRAME.match(entry)
        if match and _same_file(match["file"], run.script, root):
            line = int(match["line"])
    if lines:
        message = f"script failed ({_status(run.exit)}):\n" + "\n".join(lines[-TAIL_LINES:])
    else:
        message = f"script failed ({_status(run.exit)}) and printed nothing on stderr"
    try:
        path: Path | str = run.script.relative_to(root)
    except ValueError:
        path = run.script
    return Diagnostic(path, line, message)


def _same_file(name: str, script: Path, root: Path) -> bool:
    try:
        return (root / name).resolve() == script.resolve()
    except OSError:
        return False


class IdleWatch:
    """Which running scripts have used (almost) no CPU for a while: waiting, not working."""

    def __init__(self):
        self._samples: dict[int, tuple[float, int, float | None]] = {}  # pid: t, ticks, idle since
        self._hertz = os.sysconf("SC_CLK_TCK")

    def count(self, runs) -> int:
        now = time.monotonic()
        idle = 0
        for run in runs:
            if not run.pid:
                continue
            sample = self._samples.get(run.pid)
            if sample is None or now - sample[0] >= 0.5:
                ticks = cpu_ticks(run.pid)
                if ticks is None:
                    continue
                since = None
                if sample is not None:
                    then, before, idle_since = sample
                    if (ticks - before) / self._hertz < IDLE_CPU * (now - then):
                        since = idle_since or then
                sample = self._samples[run.pid] = (now, ticks, since)
            if sample[2] is not None and now - sample[2] >= IDLE_AFTER:
                idle += 1
        return idle


class Progress:
    """Lines for CI logs; on a terminal also one status line, rewritten in place."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        try:
            self.tty = stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self._status_shown = False
        self._last_report = time.monotonic()

    def line(self, text: str) -> None:
        if self._status_shown:
            self.stream.write("\r\033[K")
            self._status_shown = False
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last_report = time.monotonic()

    def status(self, runs) -> None:
        now = time.monotonic()
        parts = [
            f"{r.name} {now - r.started:.0f} s" if r.started else f"{r.name} (starting)"
            for r in runs
        ]
        if not parts:
            return
        if self.tty:
            width = shutil.get_terminal_size().columns - 1
            self.stream.write("\r\033[K" + f"figures: running {', '.join(parts)}"[:width])
            self.stream.flush()
            self._status_shown = True
        elif now - self._last_report >= REPORT_EVERY:
            self.line(f"figures: still running {', '.join(parts)}")


@contextmanager
def _exclusive(lock_path: Path, report: Progress):
    """One figures stage at a time per figures folder (a build and a test run, say)."""
    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            report.line("figures: waiting for another build to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield
