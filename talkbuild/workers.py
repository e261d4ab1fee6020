"""Two ways to run a figure script in a process of its own.

`SubprocessLauncher` runs `python scripts/<name>.py`, exactly what a presenter
types. `ForkServerLauncher` starts one fork server (talkbuild/forkserver.py)
that imports numpy, torch and matplotlib once and forks a fresh child per
script, which saves the ~1.7 s of imports per script. Both give every script
its own process, its own log files and its exit status; the pipeline in
talkbuild.figures does not care which one runs.

Set TALKBUILD_WORKERS=subprocess to use plain subprocesses (for comparison,
or if the fork server ever misbehaves). If the fork server dies, the scripts it
was running are started again as subprocesses.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

FORKSERVER = Path(__file__).with_name("forkserver.py")

# Modules worth importing once in the fork server, when a stale script imports
# them (directly or through figkit). Only well-behaved libraries: importing them
# must not start threads, since fork() copies only the calling thread.
PRELOADABLE = ("numpy", "torch", "matplotlib", "matplotlib.pyplot")


@dataclass
class Run:
    """One script, run once."""

    name: str
    script: Path
    stdout: Path
    stderr: Path
    outputs: Path  # the FIGKIT_OUTPUTS manifest: one written file per line
    env: dict[str, str] = field(default_factory=dict)  # on top of the launcher's environment
    pid: int | None = None
    started: float | None = None  # time.monotonic() when its process started
    exit: int | None = None  # negative: killed by that signal
    seconds: float | None = None  # wall time of its process


class SubprocessLauncher:
    """`python script.py` per script, in a fresh interpreter."""

    name = "subprocess"

    def __init__(self, env: dict[str, str], cwd: Path):
        self.env = env
        self.cwd = cwd
        self.notes: list[str] = []
        self._running: dict[str, tuple[Run, subprocess.Popen]] = {}

    def start(self, run: Run) -> None:
        with open(run.stdout, "wb") as out, open(run.stderr, "wb") as err:
            process = subprocess.Popen(
                [sys.executable, str(run.script)],
                cwd=self.cwd,
                env={**self.env, **run.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        run.pid, run.started = process.pid, time.monotonic()
        self._running[run.name] = (run, process)

    def wait(self, timeout: float) -> list[Run]:
        """The runs that finished within `timeout` seconds (at least one, unless it ran out)."""
        deadline = time.monotonic() + timeout
        while True:
            finished = []
            for name, (run, process) in list(self._running.items()):
                code = process.poll()
                if code is not None:
                    run.exit, run.seconds = code, time.monotonic() - run.started
                    finished.append(run)
                    del self._running[name]
            if finished or time.monotonic() >= deadline:
                return finished
            time.sleep(0.01)

    def close(self) -> None:
        for _run, process in self._running.values():
            process.kill()
            process.wait()
        self._running.clear()


class ForkServerLauncher:
    """Scripts forked from a server that has already imported the heavy libraries."""

    name = "fork server"

    def __init__(self, env: dict[str, str], cwd: Path, preload: list[str], log: Path):
        self.env = env
        self.cwd = cwd
        self.notes: list[str] = []
        self._log = log
        self._runs: dict[int, Run] = {}
        self._ids = 0
        self._buffer = b""
        self._fallback: SubprocessLauncher | None = None
        with open(log, "wb") as err:
            self._server = subprocess.Popen(
                [sys.executable, str(FORKSERVER), *preload],
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._server.stdout, selectors.EVENT_READ)

    def start(self, run: Run) -> None:
        if self._fallback:
            return self._fallback.start(run)
        self._ids += 1
        self._runs[self._ids] = run
        request = {
            "id": self._ids,
            "script": str(run.script),
            "cwd": str(self.cwd),
            "stdout": str(run.stdout),
            "stderr": str(run.stderr),
            "env": run.env,
            "threads": int(self.env.get("OMP_NUM_THREADS", 0)) or None,
        }
        try:
            self._server.stdin.write((json.dumps(request) + "\n").encode())
            self._server.stdin.flush()
        except (BrokenPipeError, OSError):
            self._fall_back()

    def wait(self, timeout: float) -> list[Run]:
        if self._fallback:
            return self._fallback.wait(timeout)
        finished: list[Run] = []
        deadline = time.monotonic() + timeout
        while not finished:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._selector.select(remaining):
                break
            data = os.read(self._server.stdout.fileno(), 65536)
            if not data:
                self._fall_back()
                return finished
            self._buffer += data
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in lines:
                finished.extend(self._event(json.loads(line)))
        return finished

    def _event(self, event: dict) -> list[Run]:
        if event.get("ready"):
            if event["preloaded"]:
                self.notes.append(
                    f"workers ready in {event['seconds']:.1f} s "
                    f"(preloaded {', '.join(event['preloaded'])})"
                )
            for name, error in event["failed"].items():
                self.notes.append(f"could not preload {name}: {error}")
            return []
        run = self._runs[event["id"]]
        if "pid" in event:
            run.pid, run.started = event["pid"], time.monotonic()
            return []
        del self._runs[event["id"]]
        run.exit, run.seconds = event["exit"], event["seconds"]
        return [run]

    def _fall_back(self) -> None:
        """The server died: start its scripts again, as plain subprocesses."""
        self._kill_children()
        self._server.wait()
        self.notes.append(
            f"fork server exited ({self._server.returncode}), see {self._log}; "
            "running scripts as subprocesses"
        )
        self._fallback = SubprocessLauncher(self.env, self.cwd)
        for run in self._runs.values():
            run.pid = run.started = None
            self._fallback.start(run)
        self._runs.clear()

    def _kill_children(self) -> None:
        for run in self._runs.values():
            if run.pid:
                try:
                    os.kill(run.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def close(self) -> None:
        if self._fallback:
            self._fallback.close()
        self._selector.close()
        try:
            self._server.stdin.close()  # the server exits when its children have
        except OSError:
            pass
        if self._runs:  # interrupted: don't wait for scripts nobody will read
            self._kill_children()
        try:
            self._server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._server.kill()
            self._server.wait()
        self._server.stdout.close()


def cpu_ticks(pid: int) -> int | None:
    """User + system CPU time of a process in clock ticks (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
        return None
