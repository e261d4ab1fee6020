"""The figures stage: bring a project's figures and results up to date.

    regenerate(project, force=..., jobs=..., progress=...) -> diagnostics
    stale(project) -> {script: reasons}, without running anything

A project is the folder holding scripts/ (for a deck: build.figures_project).
Its scripts/*.py write into figures/; figures/stamps.json says from
which inputs (stamps.py). `regenerate`

1. removes the outputs and stamps of scripts that no longer exist;
2. takes the stale scripts (all with `force`, which also empties the memo of
   trained networks, figures/.cache/memo);
3. asks each project module they import that defines `build_jobs()` for its
   jobs: expensive work several scripts share (E3's trainings), each a call
   `module.function(**kwargs)` run in a process of its own before the
   scripts that import the module, which then load the results from the memo;
4. runs jobs and scripts `jobs` at a time (default: one per core), jobs first,
   then the longest by the last build's times. Each run gets one torch thread,
   or every core when it is the only one left: E3's training computes the same
   bits on one thread or two, and the small networks set their own one thread;
5. reports a failing run at the deepest line of its traceback in the project
   (the others still run; the scripts that need a failed job do not), writes
   the stamps after every script. Logs: figures/.cache/logs/NAME.out/.err.
"""

from __future__ import annotations

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

from ..diagnostics import Diagnostic
from ..files import display_path, write_atomically
from .processes import Run, context, finish, start
from .progress import Display
from .stamps import Scanner, Stamps, environment, find_scripts

TAIL_LINES = 15  # how much of a failing run's stderr its diagnostic quotes


def cores() -> int:
    return len(os.sched_getaffinity(0))


class Project:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.figures = self.root / "figures"
        self.cache = self.figures / ".cache"
        self.stamps = Stamps(self.figures / "stamps.json", self.root)
        self.scanner = Scanner(self.root)
        self.env = environment()
        self.deps = {s: self.scanner.dependencies(s) for s in find_scripts(self.root / "scripts")}
        self.inputs = {s.stem: self.scanner.inputs(d) for s, d in self.deps.items()}

    def stale(self) -> dict[str, list[str]]:
        """Script path (relative) -> why it is stale, removed scripts included."""
        found = {
            f"scripts/{name}.py": self.stamps.why_stale(name, inputs, self.env)
            for name, inputs in self.inputs.items()
        }
        for name in self.removed():
            outputs = ", ".join(self.stamps.scripts[name].get("outputs", {})) or "no outputs"
            found[f"scripts/{name}.py"] = [f"removed, but its stamp and {outputs} remain"]
        return {script: reasons for script, reasons in found.items() if reasons}

    def removed(self) -> list[str]:
        return sorted(set(self.stamps.scripts) - set(self.inputs))


def stale(project: Path) -> dict[str, list[str]]:
    return Project(project).stale()


def regenerate(
    project: Path, *, force: bool = False, jobs: int | None = None, progress: TextIO | None = None
) -> list[Diagnostic]:
    """Bring every figure up to date; an error diagnostic per failed script or job."""
    stream = progress or sys.stderr
    project = Project(project)
    project.cache.mkdir(parents=True, exist_ok=True)
    with open(project.cache / "build.lock", "w") as lock:  # one stage at a time per project
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("figures: waiting for another build to finish", file=stream, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        return Pipeline(project, stream, force, jobs or cores()).run()


class Pipeline:
    def __init__(self, project: Project, stream: TextIO, force: bool, slots: int):
        self.p, self.stream, self.force, self.slots = project, stream, force, slots
        self.failed = 0  # scripts that failed or could not run
        self.logs = project.cache / "logs"
        self.times_file = project.cache / "durations.json"
        try:
            self.times = json.loads(self.times_file.read_text())
        except (OSError, ValueError):
            self.times = {}

    def run(self) -> list[Diagnostic]:
        p = self.p
        for name in p.removed():
            for rel in p.stamps.scripts.pop(name).get("outputs", {}):
                (p.root / rel).unlink(missing_ok=True)
            p.stamps.save()
        if self.force:
            shutil.rmtree(p.cache / "memo", ignore_errors=True)
        stale = [
            s for s in p.deps if self.force or p.stamps.why_stale(s.stem, p.inputs[s.stem], p.env)
        ]
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
        print(
            f"figures: {len(p.deps) - len(stale)} up to date, "
            f"{len(stale) - self.failed} regenerated"
            + (f", {self.failed} failed" * bool(self.failed)),
            file=self.stream,
            flush=True,
        )
        return diagnostics

    def plan(self, stale: list[Path]) -> tuple[list[Run], list[Diagnostic]]:
        """The jobs the stale scripts need (asked of build_jobs()), then the scripts."""
        declaring = {
            f
            for s in stale
            for f in self.p.deps[s]
            if f.suffix == ".py" and self.p.scanner.parse(f)[1]
        }
        runs, diagnostics, needs = [], [], {}
        for module_file in sorted(declaring):
            module = self.p.scanner.module_name(module_file)
            ask = self.new_run(f"{module}.build_jobs", f"{module}:build_jobs")
            start(self.ctx, ask, self.p.root, 1, {})
            finish(ask)
            try:
                declared = json.loads(ask.file("result").read_text()) if ask.exit == 0 else None
            except (OSError, ValueError):
                declared = None
            if declared is None:
                diagnostics.append(self.failure(ask, module_file))
                continue
            names = needs[module_file] = set()
            for job in declared:
                run = self.new_run(
                    job["name"], f"{module}:{job['function']}", job.get("kwargs", {})
                )
                runs.append(run)
                names.add(run.name)
        for script in sorted(stale, key=lambda s: -(self.times.get(s.stem) or 1e9)):
            run = self.new_run(script.stem, str(script))
            run.needs = set().union(*(needs.get(f, set()) for f in self.p.deps[script]))
            runs.append(run)
        return runs, diagnostics

    def new_run(self, name: str, target: str, kwargs: dict | None = None) -> Run:
        return Run(name, target, self.logs, kwargs or {}, estimate=self.times.get(name))

    def execute(self, pending: list[Run], display: Display) -> list[Diagnostic]:
        running: list[Run] = []
        finished: dict[str, bool] = {}
        diagnostics = []
        try:
            while pending or running:
                for run in [r for r in pending if r.needs <= set(finished)]:
                    if len(running) >= self.slots:
                        break
                    pending.remove(run)
                    failed = sorted(n for n in run.needs if not finished[n])
                    if failed:
                        finished[run.name] = False
                        self.failed += ":" not in run.target
                        more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
                        message = f"not run: it needs {failed[0]}{more}, which failed"
                        diagnostics.append(Diagnostic(display_path(run.target), None, message))
                        display.finished(run, f"figures: FAILED {run.name} ({message})")
                        continue
                    alone = not running and not pending
                    start(self.ctx, run, self.p.root, cores() if alone else 1, {})
                    running.append(run)
                    display.started(run)
                done = wait([r.process.sentinel for r in running], timeout=0.5)
                for run in [r for r in running if r.process.sentinel in done]:
                    running.remove(run)
                    finish(run)
                    finished[run.name] = run.exit == 0
                    self.completed(run, diagnostics, display)
                display.update(running, pending, self.slots)
        finally:
            for run in running:
                run.process.kill()
                run.process.join()
        return diagnostics

    def completed(self, run: Run, diagnostics: list[Diagnostic], display: Display) -> None:
        script = ":" not in run.target
        if run.exit == 0:
            self.times[run.name] = round(run.seconds, 1)
            if script:
                self.p.stamps.record(run.name, self.p.inputs[run.name], self.p.env, outputs(run))
            display.finished(run, f"figures: ok {run.name} {run.seconds:.1f} s")
        else:
            if script:
                self.p.stamps.scripts.pop(run.name, None)
                self.failed += 1
            source = self.p.scanner.module_file(run.source) if not script else Path(run.target)
            diagnostics.append(self.failure(run, source))
            display.finished(
                run, f"figures: FAILED {run.name} ({status(run.exit)}) {run.seconds:.1f} s"
            )
        if script:
            self.p.stamps.save()

    def failure(self, run: Run, source: Path) -> Diagnostic:
        """script failed (exit N): the end of its stderr, at the deepest line of `source`."""
        try:
            lines = run.file("err").read_text(errors="replace").rstrip().splitlines()
        except OSError:
            lines = []
        line = None
        for entry in lines:
            match = re.match(r'\s*File "([^"]+)", line (\d+)', entry)
            if match and Path(match[1]).resolve() == source.resolve():
                line = int(match[2])
        what = "script failed" if ":" not in run.target else f"{run.name} failed"
        if lines:
            message = f"{what} ({status(run.exit)}):\n" + "\n".join(lines[-TAIL_LINES:])
        else:
            message = f"{what} ({status(run.exit)}) and printed nothing on stderr"
        return Diagnostic(display_path(source), line, message)


def outputs(run: Run) -> list[Path]:
    """The files the script reported writing (figkit appends them to $FIGKIT_OUTPUTS)."""
    try:
        lines = run.file("outputs").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [Path(p) for p in dict.fromkeys(line.strip() for line in lines) if p]


def status(code: int) -> str:
    if code >= 0:
        return f"exit {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"
