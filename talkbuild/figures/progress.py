"""Each running job and how far it is (steps of a training that reports them to
$FIGKIT_PROGRESS, else time against its last run), and the time left. On a
terminal one block redrawn in place (rich); elsewhere a line every REPORT_EVERY s."""

from __future__ import annotations

import time
from typing import TextIO

from .processes import Run

REPORT_EVERY = 15.0


def fraction(run: Run, now: float) -> tuple[float | None, str]:
    """How far the run is (0..1, None if unknown), and that in words: steps done of
    steps, as the run last wrote them to $FIGKIT_PROGRESS, else time."""
    elapsed, file = now - run.started, run.file("progress")
    steps = [int(w) for w in file.read_text().split()] if file.exists() else []
    if len(steps) == 2 and 0 < steps[0] <= steps[1]:
        return steps[0] / steps[1], f"{steps[0]}/{steps[1]} steps, {elapsed:.0f} s"
    if run.estimate:
        return min(elapsed / run.estimate, 0.99), f"{elapsed:.0f} s of ~{run.estimate:.0f} s"
    return None, f"{elapsed:.0f} s"


def seconds_left(running: list[Run], pending: list[Run], slots: int, now: float) -> float | None:
    """The work left spread over the slots; None while any of it was never timed."""
    left = [r.estimate for r in pending]
    for r, f in ((r, fraction(r, now)[0]) for r in running):  # f: 0..1, None if unknown
        left.append((now - r.started) * (1 / f - 1) if f else r.estimate if f == 0 else None)
    if None in left:
        return None
    return sum(left) / max(1, min(slots, len(running)))


class Display:
    def __init__(self, stream: TextIO, total: int):
        self.stream, self.total, self.done, self._last = stream, total, 0, time.monotonic()
        self._live, self._bars = None, {}
        if getattr(stream, "isatty", lambda: False)():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            name, words = TextColumn("{task.description:<24}"), TextColumn("{task.fields[words]}")
            columns, console = (name, BarColumn(), words), Console(file=stream)
            self._live = Progress(*columns, console=console, transient=True)
            self._bars["figures"] = self._live.add_task("figures", total=total, words="")
            self._live.start()

    def line(self, text: str) -> None:
        if self._live:
            self._live.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self.stream, flush=True)

    def finished(self, run: Run, message: str) -> None:
        self.done += 1
        self.line(message)
        if run.name in self._bars:
            self._live.remove_task(self._bars.pop(run.name))

    def update(self, running: list[Run], pending: list[Run], slots: int) -> None:
        now = time.monotonic()
        left = seconds_left(running, pending, slots, now)
        overall = f"{self.done} of {self.total} done"
        overall += f", about {left:.0f} s left" if left is not None else ""
        if self._live:
            for run in running:
                if run.name not in self._bars:
                    self._bars[run.name] = self._live.add_task(run.name, words="")
                done, words = fraction(run, now)  # done None: unknown, a pulsing bar
                total, bar = None if done is None else 1.0, self._bars[run.name]
                self._live.update(bar, total=total, completed=done or 0, words=words)
            self._live.update(self._bars["figures"], completed=self.done, words=overall)
        elif running and now - self._last >= REPORT_EVERY:
            runs = ", ".join(f"{r.name} {fraction(r, now)[1]}" for r in running)
            self.line(f"figures: {overall}; running {runs}")
            self._last = now

    def close(self) -> None:
        if self._live:
            self._live.stop()
