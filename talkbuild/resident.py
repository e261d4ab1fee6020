"""The resident builder: `python build.py` hands its build to a warm process.

Most of a build is Python starting and importing markdown-it, Jinja and PyYAML
(45 slides: about 0.15 s, of which the build itself is 0.02 s once warm). So a
build run here leaves a server behind (`python -m talkbuild.resident`), which
imports the builder and builds a small deck to warm it; the next `python build.py`
connects, passes its terminal (file descriptors), folder, environment and
arguments, and the server forks a copy of itself that runs `cli.main` with them
and sends the exit status back. Each build runs in a fresh fork: nothing of one
build stays for the next, and builds may run side by side, as processes would.

The server answers only its own user (SO_PEERCRED; the socket is in Linux's
abstract namespace, so there is no file to leave behind), belongs to one checkout,
Python and path (its name hashes them, and each request must match them), and
exits after IDLE seconds without a build, or as soon as a file of the builder or
the folder of an installed package changes: the build then runs here and starts a
new one. TALKBUILD_RESIDENT=0 turns it off (the tests do); it is Linux only.
`--serve` and `--check` always run here: they are long-lived or drive a browser.

The client imports only modules written in C: `socket`, `signal` and `json` would
take 12 ms to import, the client's whole start-up beyond Python's own. Requests
are `marshal`led: the server is the same Python, and only the same user talks to it.
"""

from __future__ import annotations

import _signal
import _socket
import marshal
import os
import resource
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    IDLE = float(os.environ.get("TALKBUILD_RESIDENT_IDLE", 600))  # seconds without a build
except ValueError:
    IDLE = 600.0
HERE_ONLY = ("--serve", "--check")  # options (or abbreviations of them) built here


def context() -> list:
    """What a forked build would take from the server rather than from its caller: the
    Python, the checkout, the user and groups, the CPUs, limits, priority and cgroup,
    and what Python reads from the environment only when it starts. A caller whose
    context differs talks to another server (ADDRESS hashes it)."""
    try:
        with open("/proc/self/cgroup", "rb") as cgroup:
            group = cgroup.read()
    except OSError:
        group = b""
    limits = [resource.getrlimit(getattr(resource, n)) for n in dir(resource) if n[:7] == "RLIMIT_"]
    started = ("LANG", "LC_ALL", "LC_CTYPE", "PYTHONHASHSEED", "PYTHONWARNINGS", "PYTHONPATH")
    return [ROOT, sys.executable, sys.version, sys.path[1:], str(sys.flags), os.getuid()] + [
        os.getgid(), os.getgroups(), sorted(os.sched_getaffinity(0)), limits, group,
        os.getpriority(os.PRIO_PROCESS, 0), [os.environ.get(name) for name in started],
    ]  # fmt: skip


KEY = repr(context()) if sys.platform.startswith("linux") else ""
ADDRESS = f"\0talkbuild-{os.getuid()}-{zlib.crc32(KEY.encode()):08x}"
STREAMS = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))  # SCM_RIGHTS: C ints


# What the server builds to warm up: most of the slide syntax, a figure and math.
WARM_DECK = """---
title: Warm
reveal:
  slideNumber: true
---

# Warm

- one <!-- .element: class="fragment" -->
- *two*, `code` and [a link](https://example.org)

![a figure](figure.svg)

Note:
Notes, with $x^2$.

---

## Code

```python [1|2]
x = 1
y = 2
```

| a | b |
| --- | --- |
| 1 | 2 |

$$
\\sum_i x_i
$$

-v-

## Below

> a quote

<img src="figure.svg" alt="a figure" style="height: 30vh">
"""
WARM_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="3"><rect width="4"/></svg>'


def enabled(argv: list[str]) -> bool:
    if os.environ.get("TALKBUILD_RESIDENT", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    names = [a.split("=")[0] for a in argv if a.startswith("--") and len(a) > 2]
    return not any(option.startswith(name) for name in names for option in HERE_ONLY)


def delegate(argv: list[str]) -> int | None:
    """The exit status of the build run by the resident server; None when there is
    none to run it (or it is out of date): then build here."""
    if not enabled(argv):
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        replies = ask(sock, {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)})
        first = next(replies).split()
    except (OSError, ValueError, AttributeError):  # no server, a closed stream, no cwd
        sock.close()
        return None
    if len(first) != 2 or first[0] != b"pid":
        sock.close()
        return None  # out of date, or not ours: it exits
    sock.settimeout(None)  # the build is under way: figures may take minutes
    pid, forwarded = int(first[1]), []

    def forward(signum, frame):  # Ctrl-C, a kill, Ctrl-Z: the build gets it, as it would here
        forwarded.append(signum)
        try:
            os.kill(pid, _signal.SIGSTOP if signum == _signal.SIGTSTP else signum)
        except ProcessLookupError:
            pass
        if signum == _signal.SIGTSTP:  # then stop here too, as the shell expects
            os.kill(os.getpid(), _signal.SIGSTOP)

    for signum in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGTSTP):
        _signal.signal(signum, forward)
    _signal.signal(_signal.SIGCONT, forward)  # `fg`: the build goes on with it
    try:
        last = next(replies).split()
    except OSError:
        last = []
    sock.close()
    if len(last) == 2 and last[0] == b"exit":
        if int(last[1]) == 130 and _signal.SIGINT in forwarded:  # as Python ends on Ctrl-C
            _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
            os.kill(os.getpid(), _signal.SIGINT)
        return int(last[1])
    stopped = [s for s in forwarded if s in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)]
    if stopped:
        return 128 + stopped[-1]
    print("build.py: the resident builder stopped during the build", file=sys.stderr)
    return 1


def ask(sock, request: dict):
    """Send the request with this process's standard streams; the replies, line by line
    (b"" once the server hung up)."""
    connect(sock)
    request["key"], request["umask"] = KEY, os.umask(os.umask(0o22))
    request["streams"] = [[s.encoding, s.errors] for s in (sys.stdout, sys.stderr)]
    data = marshal.dumps(request)
    sys.stdout.flush(), sys.stderr.flush()
    rights = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, STREAMS)]
    sent = sock.sendmsg([len(data).to_bytes(4, "big") + data], rights)
    sock.sendall((len(data).to_bytes(4, "big") + data)[sent:])
    return lines(sock)


def connect(sock) -> None:
    """Connect to this checkout's server, if it is one of this user's: the address is
    a name anyone could take, so the server's user is checked as it checks ours."""
    sock.settimeout(10)  # a wedged server: build here rather than wait
    sock.connect(ADDRESS)
    credentials = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
    if int.from_bytes(credentials[4:8], sys.byteorder) != os.getuid():
        raise ConnectionRefusedError("the resident builder's address is another user's")


def lines(sock):
    buffer = b""
    while True:
        while b"\n" not in buffer:
            more = sock.recv(256)
            if not more:
                yield buffer
                return
            buffer += more
        line, buffer = buffer.split(b"\n", 1)
        yield line + b"\n"


def stop() -> bool:
    """`python -m talkbuild.resident stop`: ask this checkout's server to exit now;
    False when there was none."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        return next(ask(sock, {"stop": True})) == b"stopped\n"
    except OSError:
        return False
    finally:
        sock.close()


def start() -> None:
    """Leave a server behind for the next build (if none is there: it checks)."""
    if not enabled(sys.argv[1:]):
        return
    import subprocess

    subprocess.Popen(
        [sys.executable, "-m", "talkbuild.resident", "serve", ADDRESS[1:]],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def fingerprint() -> list:
    """What the server's code and libraries were when it started: every builder file's
    size and time, and the times of the folders on sys.path (an install changes them)."""
    found = []
    for folder, folders, files in os.walk(os.path.join(ROOT, "talkbuild")):
        folders[:] = sorted(f for f in folders if f != "__pycache__")  # written by imports
        for name in sorted(files):
            if not name.startswith((".", "#")) and not name.endswith(("~", ".swp")):  # editors'
                info = os.lstat(os.path.join(folder, name))
                found.append((name, info.st_size, info.st_mtime_ns))
    katex = os.path.join(ROOT, "node_modules", "katex", "package.json")  # its Node's KaTeX
    paths = [os.path.join(ROOT, "build.py"), katex, *(p for p in sys.path[1:] if os.path.isdir(p))]
    return found + [os.stat(p).st_mtime_ns if os.path.exists(p) else None for p in paths]


def serve(key: str) -> None:
    """The server: warm up, then fork a build per request until idle or out of date."""
    import gc
    import socket
    import tempfile
    from pathlib import Path

    if key != ADDRESS[1:]:
        return  # started in another context (Python, checkout, CPUs...) than its own
    stamp = fingerprint()
    from . import cli
    from .build import BuildConfig, build
    from .tex import WarmKatex

    katex = WarmKatex(Path(ROOT) / "node_modules")  # typesets for every build: no Node start

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(ADDRESS)
    except OSError:
        return  # another server is there
    with tempfile.TemporaryDirectory(prefix="talkbuild-warm-") as tmp:
        (Path(tmp) / "figure.svg").write_text(WARM_SVG)
        (Path(tmp) / "warm.md").write_text(WARM_DECK)
        for _ in range(3):  # regular expressions, templates, lazy imports: once, for every fork
            try:
                warm, out, cache = Path(tmp) / "warm.md", Path(tmp) / "out", Path(tmp) / "cache"
                build(BuildConfig(warm, out, cache=cache, figures=False, katex=katex))
            except Exception:  # noqa: BLE001 - a broken builder fails its builds itself
                pass
    gc.collect()
    gc.freeze()  # what is here now, the collector leaves alone: forks share its pages
    listener.listen()
    listener.settimeout(1.0)
    try:
        loop(listener, stamp, cli, katex)
    finally:
        katex.close()


def loop(listener, stamp: list, cli, katex) -> None:
    """Answer requests until idle or out of date: a build forks, a formula request
    (from a build) is typeset here, by the one warm Node process."""
    import struct
    import threading
    import time

    last = time.monotonic()
    while time.monotonic() - last < IDLE and fingerprint() == stamp:
        while True:  # reap the finished builds
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        with conn:
            credentials = conn.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
            if struct.unpack("3i", credentials)[1] != os.getuid():
                continue
            try:
                request, fds = receive(conn)
            except (OSError, ValueError, EOFError, TypeError):  # `status`, or not a request
                continue
            last = time.monotonic()
            if "typeset" in request and not fds and request.get("key") == KEY:
                watchdog = threading.Timer(60, katex.kill)  # a stuck Node: the build's own
                watchdog.start()
                results = marshal.dumps(list(katex.typeset(request["typeset"])))
                watchdog.cancel()
                try:
                    conn.sendall(len(results).to_bytes(4, "big") + results)
                except OSError:  # the build is gone
                    pass
                continue
            if request.get("key") != KEY or fingerprint() != stamp or "stop" in request:
                listener.close()  # first: the caller then starts a new server at ADDRESS
                conn.sendall(b"stopped\n" if "stop" in request else b"stale\n")
                for fd in fds:
                    os.close(fd)
                return
            if os.fork() == 0:
                try:
                    listener.close()
                    katex.detach()  # the server's: a build asks it through RemoteKatex
                    child(cli, conn, fds, request)  # ends the process
                finally:
                    os._exit(1)
            for fd in fds:
                os.close(fd)


def receive(conn) -> tuple[dict, list[int]]:
    """A request: a build's, with the caller's three standard streams, or a formula
    request, with none."""
    import socket

    conn.settimeout(5)
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    try:
        size = int.from_bytes(data[:4], "big")
        while len(data) < 4 + size:
            more = conn.recv(1 << 16)
            if not more:
                raise ValueError("cut short")
            data += more
        request = marshal.loads(data[4 : 4 + size])
        if len(data) < 4 or len(fds) not in (0, 3) or not isinstance(request, dict):
            raise ValueError("not a request")
        if not fds and "typeset" not in request:
            raise ValueError("a build request without the caller's streams")
    except BaseException:
        for fd in fds:  # the caller's: held here, its pipe would never end
            os.close(fd)
        raise
    return request, fds


def child(cli, conn, fds: list[int], request: dict) -> None:
    """In the fork: become the caller's build, then exit with its status."""
    import io
    import signal
    import tempfile
    import threading
    import traceback

    code = 1
    try:
        conn.settimeout(None)
        conn.sendall(f"pid {os.getpid()}\n".encode())  # first: the caller may be gone
    except OSError:
        os._exit(1)
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.umask(request["umask"])
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None  # TMPDIR as the caller has it
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for fd, (encoding, errors) in zip((1, 2), request["streams"]):
            stream = io.TextIOWrapper(
                io.FileIO(fd, "w", closefd=False),
                encoding=encoding,
                errors=errors,
                line_buffering=fd == 2 or os.isatty(fd),
            )
            setattr(sys, "stdout" if fd == 1 else "stderr", stream)
        sys.argv = [os.path.join(ROOT, "build.py"), *request["argv"]]
        # A closed terminal stops the build as a kill does (the figure scripts too: they
        # are not in the terminal's process group, which the hang-up reaches).
        signal.signal(signal.SIGHUP, lambda signum, frame: sys.exit(128 + signum))
        threading.Thread(target=stop_when_gone, args=(conn,), daemon=True).start()
        code = cli.main(request["argv"], katex=RemoteKatex())
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 0 if exit.code is None else 1
        if isinstance(exit.code, str):
            print(exit.code, file=sys.stderr)
    except KeyboardInterrupt:
        traceback.print_exc()
        code = 130
    except BaseException:  # noqa: BLE001 - as Python would print it
        traceback.print_exc()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the caller may close first now
        try:
            sys.stdout.flush(), sys.stderr.flush()
            conn.sendall(f"exit {code}\n".encode())
        except (OSError, ValueError):
            pass
        os._exit(code & 0xFF if isinstance(code, int) else 1)


class RemoteKatex:
    """In a build: tex.py's `warm` typesetter, which asks the server's Node process (no
    Node start-up), or if the server is gone, a Node process of its own."""

    def typeset(self, request: str) -> tuple[list | None, str]:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            connect(sock)
            sock.settimeout(90)  # the server gives Node 60 s
            data = marshal.dumps({"key": KEY, "typeset": request})
            sock.sendall(len(data).to_bytes(4, "big") + data)
            reply = b""
            while len(reply) < 4 or len(reply) < 4 + int.from_bytes(reply[:4], "big"):
                more = sock.recv(1 << 16)
                if not more:
                    raise EOFError
                reply += more
            results, failure = marshal.loads(reply[4:])
            if results is None:
                raise ValueError(failure)  # its Node failed: perhaps ours will not
            return results, failure
        except (OSError, EOFError, ValueError, TypeError):
            from .tex import WarmKatex

            own = WarmKatex(os.path.join(ROOT, "node_modules"))
            try:
                return own.typeset(request)
            finally:
                own.close()
        finally:
            sock.close()


def stop_when_gone(conn) -> None:
    """The caller gone (killed) before the build ended: stop it, as its terminal would."""
    try:
        conn.recv(1)
    except OSError:
        pass
    os.kill(os.getpid(), _signal.SIGTERM)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2] if len(sys.argv) > 2 else "")
    elif sys.argv[1:] == ["stop"]:
        print("resident builder: " + ("stopped" if stop() else "none was running"))
    elif sys.argv[1:] == ["status"]:
        probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        up = probe.connect_ex(ADDRESS) == 0
        probe.close()
        print(f"resident builder: {'running' if up else 'none'} for {ROOT}")
        sys.exit(0 if up else 1)
    else:
        sys.exit("usage: python -m talkbuild.resident stop|status")
