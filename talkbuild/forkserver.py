"""A fork server for figure scripts: import the heavy libraries once, fork a fresh child per script.

Importing numpy, torch and matplotlib costs about 1.7 s per process here. The
pipeline starts this file as `python forkserver.py MODULE...`; it imports the
given modules once, then forks one child per script, and every child starts
with them already imported. Each script still gets a process of its own, so a
crash, a global setting or a leaked figure stays with its script.

Protocol: one JSON object per line, requests on stdin, events on stdout.

    -> {"id": 3, "script": "/abs/scripts/x.py", "cwd": "/abs", "stdout": "x.out",
        "stderr": "x.err", "env": {"FIGKIT_OUTPUTS": "..."}, "threads": 1}
    <- {"ready": true, "preloaded": ["numpy", ...], "failed": {}, "seconds": 1.7}
    <- {"id": 3, "pid": 1234}
    <- {"id": 3, "exit": 0, "seconds": 2.1}      (exit -N: killed by signal N)

The server exits once stdin is closed and its children have finished. It is
deliberately standalone (standard library plus the preloaded modules; it never
imports talkbuild) and single-threaded, because fork() copies only the calling
thread.
"""

from __future__ import annotations

import json
import os
import runpy
import selectors
import signal
import sys
import time
import traceback


def preload(modules: list[str]) -> tuple[list[str], dict[str, str]]:
    """Import what the scripts will import; a module that fails is left to the script."""
    loaded, failed = [], {}
    for name in modules:
        try:
            __import__(name)
            loaded.append(name)
        except Exception as exc:  # noqa: BLE001 - reported to the pipeline, not fatal
            failed[name] = f"{type(exc).__name__}: {exc}"
    return loaded, failed


def run_script(request: dict) -> int:
    """In the child: run the script as `python script.py` would; return its exit status."""
    script = request["script"]
    os.chdir(request["cwd"])
    os.environ.update(request.get("env", {}))
    sys.argv = [script]
    sys.path[0] = os.path.dirname(script)
    threads = request.get("threads")
    if threads and "torch" in sys.modules:  # OMP_NUM_THREADS was read when torch was imported
        sys.modules["torch"].set_num_threads(int(threads))
    try:
        runpy.run_path(script, run_name="__main__")
        return 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException as exc:  # noqa: BLE001 - printed like the interpreter would
        print_traceback(exc, script)
        return 1


def print_traceback(exc: BaseException, script: str) -> None:
    """The traceback from the script's own frames on, as `python script.py` prints it."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != script:
        tb = tb.tb_next  # skip this module's and runpy's frames
    if tb is None and not isinstance(exc, SyntaxError):
        tb = exc.__traceback__
    traceback.print_exception(type(exc), exc, tb, file=sys.stderr)


def child(request: dict, selector: selectors.BaseSelector, server_fds: tuple[int, ...]) -> None:
    """Runs in the forked child; never returns."""
    code = 70  # EX_SOFTWARE, if anything below fails before the script runs
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        selector.close()
        for fd in server_fds:
            os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        for fd, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
            os.close(fd)
        code = run_script(request)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - exiting anyway
                pass
        os._exit(code)


def serve(modules: list[str]) -> None:
    start = time.monotonic()
    loaded, failed = preload(modules)
    out = sys.stdout.fileno()

    def send(event: dict) -> None:
        os.write(out, (json.dumps(event) + "\n").encode())

    send(
        {
            "ready": True,
            "preloaded": loaded,
            "failed": failed,
            "seconds": round(time.monotonic() - start, 3),
        }
    )

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake select() via the pipe
    selector = selectors.DefaultSelector()
    stdin = sys.stdin.fileno()
    selector.register(stdin, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)

    children: dict[int, tuple[int, float]] = {}  # pid -> (request id, start)
    pending = b""
    closed = False
    try:
        while not closed or children:
            for key, _ in selector.select():
                if key.fd == wake_r:
                    while True:
                        try:
                            if not os.read(wake_r, 512):
                                break
                        except BlockingIOError:
                            break
                    continue
                data = os.read(stdin, 65536)
                if not data:
                    closed = True
                    selector.unregister(stdin)
                    continue
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if not line.strip():
                        continue
                    request = json.loads(line)
                    started = time.monotonic()
                    pid = os.fork()
                    if pid == 0:
                        child(request, selector, (wake_r, wake_w))
                    children[pid] = (request["id"], started)
                    send({"id": request["id"], "pid": pid})
            while children:  # reap every child that has finished
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                job, started = children.pop(pid)
                send(
                    {
                        "id": job,
                        "exit": os.waitstatus_to_exitcode(status),
                        "seconds": round(time.monotonic() - started, 3),
                    }
                )
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    serve(sys.argv[1:])
