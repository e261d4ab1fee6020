"""The figures stage: bring a project's figures/ up to date; `stale` says what is not.

Before the stale scripts (stamps.py) run the jobs that the `build_jobs()` of a
project module they import declares (E3's trainings, memoised for the scripts).
One run per core, longest first by the last times (the never-timed first: scripts,
then the jobs, alike, to fill the cores at the end); one torch thread each, every
core for a run started last, and for a job left alone (widen; E3 gives the same bits).
A failure is reported at its deepest line in the project; the others still run.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import signal
import sys
from multiprocessing.connection import wait
from pathlib import Path
from typing import TextIO

from ..diagnostics import Diagnostic, report
from ..files import display_path, write_atomically
from .processes import Run, context, finish, start, widen
from .progress import Display
from .stamps import Scanner, Stamps, environment, find_scripts

TAIL_LINES = 15  # how much of a failing run's stderr its diagnostic quotes
FRAME = re.compile(r'\s*File "([^"]+)", line (\d+)')  # a traceback's frame


class Project:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.cache = self.root / "figures" / ".cache"
        self.stamps = Stamps(self.root / "figures" / "stamps.json", self.root)
        self.scanner, self.env = Scanner(self.root), environment()
        self.deps = {s: self.scanner.dependencies(s) for s in find_scripts(self.root / "scripts")}
        self.inputs = {s.stem: self.scanner.inputs(d) for s, d in self.deps.items()}
        self.removed = sorted(set(self.stamps.scripts) - set(self.inputs))


def stale(project: Path) -> dict[str, list[str]]:
    """scripts/NAME.py -> why its outputs are stale (removed scripts too); runs nothing."""
    p = Project(project)
    found = {f"scripts/{n}.py": p.stamps.why_stale(n, p.inputs[n], p.env) for n in p.inputs}
    for name in p.removed:
        outputs = ", ".join(p.stamps.scripts[name].get("outputs", {})) or "no outputs"
        found[f"scripts/{name}.py"] = [f"removed, but its stamp and {outputs} remain"]
    return {script: reasons for script, reasons in found.items() if reasons}


def regenerate(
    project: Path, *, force: bool = False, jobs: int | None = None, progress: TextIO | None = None
) -> list[Diagnostic]:
    """Bring every figure up to date; an error diagnostic per failed script or job."""
    stream, project = progress or sys.stderr, Project(project)
    project.cache.mkdir(parents=True, exist_ok=True)
    with open(project.cache / "build.lock", "w") as lock:  # one stage at a time per project
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("figures: waiting for another build to finish", file=stream, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        return Pipeline(project, stream, jobs).run(force)


class Pipeline:
    def __init__(self, project: Project, stream: TextIO, slots: int | None):
        self.p, self.stream, self.cores = project, stream, len(os.sched_getaffinity(0))
        self.slots = slots or self.cores
        self.failed = 0  # scripts that failed or could not run
        self.logs, self.times_file = project.cache / "logs", project.cache / "durations.json"
        self.times = json.loads(self.times_file.read_text()) if self.times_file.exists() else {}

    def run(self, force: bool) -> list[Diagnostic]:
        p = self.p
        for name in p.removed:
            for rel in p.stamps.scripts.pop(name).get("outputs", {}):
                (p.root / rel).unlink(missing_ok=True)
            p.stamps.save()
        if force:
            shutil.rmtree(p.cache / "memo", ignore_errors=True)
        stale = [s for s in p.deps if force or p.stamps.why_stale(s.stem, p.inputs[s.stem], p.env)]
        if not stale:
            print(f"figures: {len(p.deps)} scripts up to date", file=self.stream, flush=True)
            return []
        self.logs.mkdir(parents=True, exist_ok=True)
        self.ctx = context()
        runs, diagnostics = self.plan(stale)
        display = Display(self.stream, len(runs))
        try:
            diagnostics += self.execute(runs, display)
        finally:
            display.close()
            write_atomically(self.times_file, json.dumps(self.times, indent=1, sort_keys=True))
        failed = f", {self.failed} failed" if self.failed else ""
        done = f"{len(p.deps) - len(stale)} up to date, {len(stale) - self.failed} regenerated"
        print(f"figures: {done}{failed}", file=self.stream)
        return diagnostics

    def plan(self, stale: list[Path]) -> tuple[list[Run], list[Diagnostic]]:
        """The jobs the stale scripts need, as each module's build_jobs() says, then the scripts."""
        jobs, diagnostics, needs = [], [], {}
        declaring = {f for s in stale for f in self.p.deps[s] if self.p.scanner.parse(f)[1]}
        for file in sorted(declaring):
            module = self.p.scanner.module_name(file)
            ask = self.new_run(f"{module}.build_jobs", f"{module}:build_jobs")
            start(self.ctx, ask, self.p.root, 1)
            finish(ask)
            try:
                declared = json.loads(ask.file("result").read_text())
            except (OSError, ValueError):
                diagnostics.append(self.failure(ask, file))
                continue
            for job in declared:
                jobs.append(
                    self.new_run(job["name"], f"{module}:{job['function']}", job.get("kwargs"))
                )
            needs[file] = {job["name"] for job in declared}
        scripts = [self.new_run(script.stem, str(script)) for script in sorted(stale)]
        for run in scripts:
            run.needs = set().union(*(needs.get(f, set()) for f in self.p.deps[Path(run.target)]))
        return sorted(scripts + jobs, key=lambda r: -(r.estimate or float("inf"))), diagnostics

    def new_run(self, name: str, target: str, kwargs: dict | None = None) -> Run:
        return Run(name, target, self.logs, kwargs or {}, estimate=self.times.get(name))

    def execute(self, pending: list[Run], display: Display) -> list[Diagnostic]:
        running: list[Run] = []
        ok: dict[str, bool] = {}  # finished runs: did they succeed?
        diagnostics = []
        try:
            while pending or running:
                ready, free = [r for r in pending if r.needs <= set(ok)], self.slots - len(running)
                for run in ready[:free]:
                    pending.remove(run)
                    failed = sorted(n for n in run.needs if not ok[n])
                    if failed:
                        ok[run.name], self.failed = False, self.failed + run.is_script
                        more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
                        message = f"not run: it needs {failed[0]}{more}, which failed"
                        diagnostics.append(Diagnostic(display_path(run.target), None, message))
                        display.finished(run, f"figures: FAILED {run.name} ({message})")
                        continue
                    start(self.ctx, run, self.p.root, 1 if running or pending else self.cores)
                    running.append(run)
                    display.line(f"figures: running {run.name}")
                if len(running) == 1 and len(ready) <= free and not running[0].is_script:
                    if not running[0].wide:  # a job alone, nothing else can start: a script
                        widen(running[0])  # may set its own count (figkit: small networks)
                done = wait([r.process.sentinel for r in running], timeout=0.5)
                for run in [r for r in running if r.process.sentinel in done]:
                    running.remove(run)
                    finish(run)
                    ok[run.name] = run.exit == 0
                    diagnostics += self.completed(run, display)
                display.update(running, pending, self.slots)
        finally:
            for run in running:
                run.process.kill()
                run.process.join()
        return diagnostics

    def completed(self, run: Run, display: Display) -> list[Diagnostic]:
        found = []
        if run.exit == 0:
            self.times[run.name] = max(round(run.seconds, 1), 0.1)  # 0: never timed
            if run.is_script:
                self.p.stamps.record(run.name, self.p.inputs[run.name], self.p.env, outputs(run))
            display.finished(run, f"figures: ok {run.name} {run.seconds:.1f} s")
        else:
            if run.is_script:
                self.p.stamps.scripts.pop(run.name, None)
                self.failed += 1
            module = run.target.partition(":")[0]
            source = Path(run.target) if run.is_script else self.p.scanner.module_file(module)
            found.append(self.failure(run, source))
            took = f"({status(run.exit)}) {run.seconds:.1f} s"
            display.finished(run, f"figures: FAILED {run.name} {took}")
        if run.is_script:
            self.p.stamps.save()
        return found

    def failure(self, run: Run, source: Path) -> Diagnostic:
        """script failed (exit N): the end of its stderr, at the deepest line of `source`."""
        err = run.file("err")
        lines = err.read_text(errors="replace").rstrip().splitlines() if err.exists() else []
        target = source.resolve()
        frames = [m for m in map(FRAME.match, lines) if m and Path(m[1]).resolve() == target]
        line = int(frames[-1][2]) if frames else None
        what = f"{'script' if run.is_script else run.name} failed ({status(run.exit)})"
        tail = ":\n" + "\n".join(lines[-TAIL_LINES:]) if lines else " and printed nothing on stderr"
        return Diagnostic(display_path(source), line, what + tail)


def outputs(run: Run) -> list[Path]:
    """The files the script reported writing (figkit appends them to $FIGKIT_OUTPUTS)."""
    written = run.file("outputs")
    return [Path(p) for p in written.read_text().split("\n") if p] if written.exists() else []


def status(code: int) -> str:
    signals = {-s.value: s.name for s in signal.Signals}
    return f"killed by {signals[code]}" if code in signals else f"exit {code}"


def main(argv: list[str] | None = None) -> int:
    """`python -m talkbuild.figures [PROJECT] [--check] [--force]`: see README, Figures."""
    parser = argparse.ArgumentParser(prog="python -m talkbuild.figures")
    parser.add_argument("project", nargs="?", type=Path, default=Path(__file__).parents[2])
    parser.add_argument("--check", action="store_true", help="run nothing: say what is stale")
    parser.add_argument("--force", action="store_true", help="regenerate every figure")
    args = parser.parse_args(argv)
    if not args.check:
        return 1 if report(regenerate(args.project, force=args.force)) else 0
    found = stale(args.project)
    for script, reasons in found.items():
        print(f"{script}: stale: {'; '.join(reasons)}", file=sys.stderr)
    if found:
        print(f"figures: {len(found)} stale; run `make figures`, commit figures/", file=sys.stderr)
    else:
        print("figures: every stamp matches its inputs", file=sys.stderr)
    return 1 if found else 0
