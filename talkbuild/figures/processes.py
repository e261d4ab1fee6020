"""One process per run, forked from multiprocessing's forkserver, which imports the heavy
libraries once (preload): a run starts in milliseconds, yet a crash or a global setting
stays with it. A run is a script (`python scripts/NAME.py`) or a call `module:function`."""

from __future__ import annotations

import contextlib
import importlib
import json
import multiprocessing
import os
import runpy
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing import forkserver
from pathlib import Path

# A missing one is skipped. torch.optim imports torch._dynamo on a first step: 1-2 s a run.
PRELOAD = ["numpy", "torch", "torch._dynamo", "matplotlib", "matplotlib.pyplot"]
# In force before the forkserver imports anything: one BLAS thread (torch's count is
# set per run), no display, the same set order in every run, trained networks shared.
ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
ENV |= {"MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "FIGKIT_MEMO": "disk"}


@dataclass
class Run:
    """A script (`target` is its path) or a call (`target` is module:function)."""

    name: str
    target: str
    logs: Path
    kwargs: dict = field(default_factory=dict)
    needs: set[str] = field(default_factory=set)  # jobs that must have finished first
    estimate: float | None = None  # seconds, from the last build
    wide: bool = False  # widened: every core, from now on
    process: multiprocessing.Process | None = None
    started: float = 0.0
    exit: int | None = None
    seconds: float = 0.0

    def file(self, kind: str) -> Path:
        return self.logs / f"{self.name}.{kind}"  # out, err, outputs, progress, result

    @property
    def is_script(self) -> bool:
        return ":" not in self.target


def context():
    """The forkserver, started under ENV with the libraries loaded and SIGUSR1 blocked."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    saved, mask = dict(os.environ), signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    os.environ.update(ENV)
    try:
        forkserver.ensure_running()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return ctx


def start(ctx, run: Run, root: Path, threads: int) -> None:
    for kind in ("outputs", "progress", "result"):
        run.file(kind).unlink(missing_ok=True)
    env = {**os.environ, **ENV, "FIGKIT_OUTPUTS": str(run.file("outputs"))}
    env["FIGKIT_PROGRESS"] = str(run.file("progress"))
    spec = {"target": run.target, "kwargs": run.kwargs, "root": str(root), "threads": threads}
    spec["result"] = run.name.endswith(".build_jobs")  # the plan's answer; jobs' values stay out
    run.process = ctx.Process(target=child, args=(spec, env, str(run.logs / run.name)))
    run.process.start()
    run.started = time.monotonic()


def widen(run: Run) -> None:
    """Give a running job every core (sent before child() handles it, it waits, blocked)."""
    with contextlib.suppress(ProcessLookupError):  # it may have ended just now
        os.kill(run.process.pid, signal.SIGUSR1)
    run.wide = True


def finish(run: Run) -> None:
    run.process.join()
    run.exit, run.seconds = run.process.exitcode, time.monotonic() - run.started
    run.process.close()


def child(spec: dict, env: dict[str, str], logs: str) -> None:
    """In the forked process: run the script or call the function, logs redirected."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(spec["root"])
    for fd, name in ((0, os.devnull), (1, logs + ".out"), (2, logs + ".err")):
        opened = os.open(name, os.O_RDONLY if fd == 0 else os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(opened, fd)
        os.close(opened)
    torch, every = sys.modules.get("torch"), len(os.sched_getaffinity(0))
    if torch:  # the one place the build sets torch's thread count
        torch.set_num_threads(spec["threads"])
    handler = (lambda *_: torch.set_num_threads(every)) if torch else signal.SIG_IGN
    signal.signal(signal.SIGUSR1, handler)  # widen(): what the run or its programs inherit
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
    scripts = os.path.join(spec["root"], "scripts")
    module, _, function = spec["target"].partition(":")
    try:
        if not function:
            sys.argv, sys.path[0] = [module], os.path.dirname(module)
            runpy.run_path(module, run_name="__main__")
        else:
            sys.path.insert(0, scripts)
            result = getattr(importlib.import_module(module), function)(**spec["kwargs"])
            if spec["result"]:
                Path(logs + ".result").write_text(json.dumps(result))
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - printed as the interpreter would
        tb = exc.__traceback__
        while tb and not tb.tb_frame.f_code.co_filename.startswith(scripts):
            tb = tb.tb_next  # from the project's own frames on: no runpy, no multiprocessing
        traceback.print_exception(type(exc), exc, tb or exc.__traceback__)
        sys.exit(1)
