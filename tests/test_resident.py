"""The resident builder (talkbuild/resident.py): `python build.py` hands its build to
a warm server, which forks a copy of itself per build.

Each test runs a copy of the builder in its own folder, so its server (keyed by the
folder) is its own, started and stopped here; the suite's other tests build
in-process (conftest.py sets TALKBUILD_RESIDENT=0).
"""

from __future__ import annotations

import _socket
import filecmp
import marshal
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from talkbuild import resident

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")

DECK = """---
title: Resident
---

# Resident

- a point, and $\\alpha$

---

## Two

```python [1|2]
x = 1
y = 2
```
"""


class Builder:
    """A copy of build.py and talkbuild/ in a folder of its own, and its server."""

    def __init__(self, folder: Path):
        self.root = folder / "builder"
        self.root.mkdir()
        shutil.copy(REPO / "build.py", self.root)
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(REPO / "talkbuild", self.root / "talkbuild", ignore=ignore)
        (self.root / "node_modules").symlink_to(REPO / "node_modules")
        self.env = {**os.environ, "TALKBUILD_RESIDENT": "1", "TALKBUILD_RESIDENT_IDLE": "60"}
        probe = "import sys; sys.path[0] = sys.argv[1]; from talkbuild import resident as r; "
        found = subprocess.run(
            [sys.executable, "-c", probe + "print(repr([r.ADDRESS, r.KEY]))", str(self.root)],
            capture_output=True,
            text=True,
            check=True,
            env=self.env,
        ).stdout.strip()
        self.address, self.key = eval(found)  # reprs of two str: the address starts with NUL

    def build(self, *args: str, cwd: Path, **options) -> subprocess.CompletedProcess:
        command = [sys.executable, str(self.root / "build.py"), *args]
        return subprocess.run(
            command, cwd=cwd, env=options.pop("env", self.env), capture_output=True, text=True
        )

    def listening(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(self.address)
            except OSError:
                return False
            return True

    def wait(self, up: bool, seconds: float = 20.0) -> None:
        deadline = time.monotonic() + seconds
        while self.listening() != up:
            assert time.monotonic() < deadline, f"the server is still {'down' if up else 'up'}"
            time.sleep(0.05)

    def stop(self) -> str:
        """`python -m talkbuild.resident stop`, and what it said."""
        done = subprocess.run(
            [sys.executable, "-m", "talkbuild.resident", "stop"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
        )
        self.wait(up=False)
        return done.stdout


@pytest.fixture
def builder(tmp_path):
    made = Builder(tmp_path)
    yield made
    made.stop()


@pytest.fixture
def deck(tmp_path) -> Path:
    folder = tmp_path / "talk"
    folder.mkdir()
    (folder / "deck.md").write_text(DECK)
    return folder / "deck.md"


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_a_build_leaves_a_server_and_the_next_build_runs_in_it_with_the_same_result(builder, deck):
    first = builder.build(str(deck), "-o", "first", cwd=deck.parent)
    assert first.returncode == 0, first.stderr
    builder.wait(up=True)
    second = builder.build(str(deck), "-o", "second", cwd=deck.parent)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout.replace("first", "second")  # relative to the caller
    assert tree(deck.parent / "first") == tree(deck.parent / "second")
    # the server's fork, not the caller, built it: the caller imported no builder module
    probe = "import sys; sys.argv = ['build.py', *sys.argv[1:]]; sys.path[0] = sys.argv.pop(1)\n"
    probe += "from talkbuild import resident\nstatus = resident.delegate(sys.argv[1:])\n"
    probe += "print(status, sorted(m for m in sys.modules if m.startswith('talkbuild')))"
    seen = subprocess.run(
        [sys.executable, "-c", probe, str(builder.root), str(deck), "-o", "third"],
        cwd=deck.parent,
        env=builder.env,
        capture_output=True,
        text=True,
    )
    assert seen.stdout.splitlines()[-1] == "0 ['talkbuild', 'talkbuild.resident']"
    assert filecmp.cmp(deck.parent / "first" / "index.html", deck.parent / "third" / "index.html")


def test_errors_exit_status_and_the_previous_deck_are_as_with_a_build_here(builder, deck):
    here_env = {**builder.env, "TALKBUILD_RESIDENT": "0"}
    assert builder.build(str(deck), "-o", "out", cwd=deck.parent).returncode == 0
    builder.wait(up=True)
    before = tree(deck.parent / "out")
    deck.write_text(DECK + "\n$\\frac{a$\n\n```python [1|x]\nz = 3\n```\n")
    there = builder.build(str(deck), "-o", "out", cwd=deck.parent)
    here = builder.build(str(deck), "-o", "out", cwd=deck.parent, env=here_env)
    assert (there.returncode, there.stdout, there.stderr) == (1, here.stdout, here.stderr)
    assert "deck.md:18: TeX error" in there.stderr
    assert tree(deck.parent / "out") == before
    bad = builder.build("--no-such-option", cwd=deck.parent)
    assert bad.returncode == 2 and "unrecognized arguments: --no-such-option" in bad.stderr
    assert builder.build("--help", cwd=deck.parent).stdout.startswith("usage: build.py")


def test_a_changed_builder_file_retires_the_server_and_the_build_uses_the_new_code(builder, deck):
    assert builder.build(str(deck), "-o", "out", cwd=deck.parent).returncode == 0
    builder.wait(up=True)
    cli = builder.root / "talkbuild" / "cli.py"
    cli.write_text(cli.read_text().replace(": {built.slides} slides", ": {built.slides} slides!"))
    changed = builder.build(str(deck), "-o", "out", cwd=deck.parent)
    assert changed.stdout.endswith("2 slides!\n")
    builder.wait(up=True)  # the build here started a new one
    assert builder.build(str(deck), "-o", "out", cwd=deck.parent).stdout.endswith("slides!\n")


def test_turned_off_no_server_is_started(builder, deck):
    off = {**builder.env, "TALKBUILD_RESIDENT": "0"}
    assert builder.build(str(deck), "-o", "out", cwd=deck.parent, env=off).returncode == 0
    time.sleep(1.0)  # a negative: the server would be listening by now
    assert not builder.listening()
    assert builder.stop() == "resident builder: none was running\n"


def test_stop_stops_the_server(builder, deck):
    assert builder.build(str(deck), "-o", "out", cwd=deck.parent).returncode == 0
    builder.wait(up=True)
    assert builder.stop() == "resident builder: stopped\n"


def test_the_server_exits_when_idle(tmp_path, deck):
    quick = Builder(tmp_path)
    quick.env["TALKBUILD_RESIDENT_IDLE"] = "2"
    assert quick.build(str(deck), "-o", "out", cwd=deck.parent).returncode == 0
    quick.wait(up=True)
    quick.wait(up=False, seconds=10)


def test_check_and_serve_are_never_handed_over(monkeypatch):
    monkeypatch.setenv("TALKBUILD_RESIDENT", "1")
    assert resident.enabled(["deck.md", "-o", "out", "--self-contained", "--strict"])
    for argv in (["--check"], ["--serve"], ["--ser"], ["--che"], ["--serve", "--port=0"]):
        assert not resident.enabled(argv)
    monkeypatch.setenv("TALKBUILD_RESIDENT", "0")
    assert not resident.enabled(["deck.md"])


@pytest.mark.skipif(os.getuid() != 0, reason="needs root, to connect as another user")
def test_another_user_is_not_served(builder, deck):
    assert builder.build(str(deck), "-o", "out", cwd=deck.parent).returncode == 0
    builder.wait(up=True)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # as nobody, a request: the server hangs up (the caller would build itself)
        answer = b"error"
        try:
            os.setgid(65534)
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(10)
                sock.connect(builder.address)
                request = marshal.dumps(
                    {"key": builder.key, "argv": ["--help"], "cwd": "/", "env": {}, "umask": 18}
                    | {"streams": [["utf-8", "strict"]] * 2}
                )  # a valid request: without the check of its user, it would be built
                socket.send_fds(sock, [len(request).to_bytes(4, "big") + request], [0, 1, 2])
                answer = sock.recv(100) or b"hung up"
        except (BrokenPipeError, ConnectionResetError):  # hung up before the request ended
            answer = b"hung up"
        except BaseException as error:
            answer = repr(error).encode()
        finally:
            os.write(write, answer)
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as answer:
        assert answer.read() == b"hung up"
    assert builder.build(str(deck), "-o", "out", cwd=deck.parent).returncode == 0  # still up


def slow_build(builder, tmp_path: Path) -> tuple[subprocess.Popen, int, int]:
    """A build by the resident whose figure script sleeps: (the caller, the script's
    pid, the build's pid), once the script runs."""
    project = tmp_path / "project"
    started = tmp_path / "started"
    (project / "scripts").mkdir(parents=True)
    (project / "scripts" / "slow.py").write_text(
        "import os, pathlib, time\n"
        f"pathlib.Path({str(started)!r}).write_text(f'{{os.getpid()}} {{os.getppid()}}')\n"
        "time.sleep(120)\n"
    )
    (project / "slides").mkdir()
    (project / "slides" / "deck.md").write_text("# A slide\n")
    assert builder.build(str(deck_of(tmp_path)), "-o", "warm", cwd=tmp_path).returncode == 0
    builder.wait(up=True)
    process = subprocess.Popen(
        [sys.executable, str(builder.root / "build.py"), str(project / "slides"), "-o", "out"],
        cwd=project,
        env=builder.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not started.exists() or not started.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the figure script did not start")
        time.sleep(0.05)
    script, forkserver = map(int, started.read_text().split())
    build = int(stat(forkserver)[1])
    assert build != process.pid  # the build that runs the script is the server's fork
    return process, script, build


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_a_stopped_caller_stops_its_build_and_the_scripts_it_started(builder, tmp_path, how):
    """Ctrl-C and SIGTERM go on to the build, and the caller ends when it has (on Ctrl-C
    by SIGINT, as Python does); a caller killed outright is noticed by the build."""
    process, script, _ = slow_build(builder, tmp_path)
    try:
        process.send_signal(getattr(signal, how))
        code = process.wait(timeout=30)
        assert code == (-signal.SIGINT if how == "SIGINT" else -9 if how == "SIGKILL" else 143)
        if how != "SIGKILL":  # the caller waited for its build to stop the script and end
            assert not running(script)
        deadline = time.monotonic() + 15
        while running(script):
            if time.monotonic() > deadline:
                os.kill(script, signal.SIGKILL)
                pytest.fail("the script outlived the stopped build")
            time.sleep(0.05)
        assert not (tmp_path / "project" / "out").exists()
    finally:
        process.kill()


def test_ctrl_z_stops_the_build_with_its_caller_and_fg_resumes_both(builder, tmp_path):
    process, script, build = slow_build(builder, tmp_path)
    try:
        process.send_signal(signal.SIGTSTP)
        wait_for(lambda: stat(process.pid)[0] == "T" and stat(build)[0] == "T")
        process.send_signal(signal.SIGCONT)
        wait_for(lambda: stat(process.pid)[0] != "T" and stat(build)[0] != "T")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 143
        assert not running(script)
    finally:
        process.kill()


def stat(pid: int) -> list[str]:
    """/proc/PID/stat from the state on: state, parent, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within 10 s"
        time.sleep(0.02)


def deck_of(folder: Path) -> Path:
    (folder / "plain.md").write_text("# Plain\n")
    return folder / "plain.md"


def running(pid: int) -> bool:
    """The process exists and has not ended (a zombie has)."""
    try:
        return stat(pid)[0] != "Z"
    except (OSError, IndexError):
        return False


def test_new_math_is_typeset_by_the_servers_node_not_one_started_per_build(builder, deck, tmp_path):
    """`node` on the callers' PATH is a wrapper that logs each start: a build in its own
    process starts it, a build by the resident asks the server's Node, already running."""
    real = shutil.which("node")
    if real is None:
        pytest.skip("needs Node.js")
    wrappers = tmp_path / "bin"
    wrappers.mkdir()
    log = tmp_path / "node.log"
    (wrappers / "node").write_text(f'#!/bin/sh\necho started >> "{log}"\nexec "{real}" "$@"\n')
    (wrappers / "node").chmod(0o755)
    logged = {**builder.env, "PATH": f"{wrappers}{os.pathsep}{os.environ['PATH']}"}
    assert builder.build(str(deck), "-o", "out", cwd=deck.parent).returncode == 0
    builder.wait(up=True)
    deck.write_text(DECK + "\n$$\\int_0^1 x\\,dx$$\n")  # a formula no cache holds
    built = builder.build(str(deck), "-o", "out", cwd=deck.parent, env=logged)
    assert built.returncode == 0, built.stderr
    assert not log.exists()
    assert 'class="katex-display"' in (deck.parent / "out" / "index.html").read_text()
    deck.write_text(DECK + "\n$$\\int_0^2 y\\,dy$$\n")
    here = builder.build(
        str(deck), "-o", "out", cwd=deck.parent, env={**logged, "TALKBUILD_RESIDENT": "0"}
    )
    assert here.returncode == 0, here.stderr
    assert log.read_text() == "started\n"  # the wrapper works: a build here starts Node


@pytest.mark.skipif(os.getuid() != 0, reason="needs root, to listen as another user")
def test_a_server_of_another_user_is_not_used(monkeypatch):
    """Anyone may take an abstract socket's name: the caller checks the server's user."""
    address = f"\0talkbuild-test-{os.getpid()}"
    monkeypatch.setattr(resident, "ADDRESS", address)
    ready, tell = os.pipe()
    pid = os.fork()
    if pid == 0:  # as nobody: a squatter on the address
        try:
            os.setgid(65534)
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as squatter:
                squatter.bind(address)
                squatter.listen()
                os.write(tell, b"listening")
                squatter.accept()[0].recv(10)
        finally:
            os._exit(0)
    try:
        assert os.read(ready, 100) == b"listening"
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        with pytest.raises(ConnectionRefusedError, match="another user's"):
            resident.connect(sock)
        sock.close()
        monkeypatch.setenv("TALKBUILD_RESIDENT", "1")
        assert resident.delegate(["--help"]) is None  # so it builds itself
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
