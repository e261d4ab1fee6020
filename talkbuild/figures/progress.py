"""What the terminal shows while scripts run: each running job and how far it is.

On a terminal, one block redrawn in place (rich): a bar per running job (steps
done of steps for a training that reports them, else the time so far against
the last run's) and a bar for the whole stage with the time left. Elsewhere (CI,
the live preview's log), the same as a plain line every REPORT_EVERY seconds.
"""

from __future__ import annotations

import time
from typing import TextIO

from .processes import Run

REPORT_EVERY = 15.0


def fraction(run: Run, now: float) -> tuple[float | None, str]:
    """How far the run is (0..1, None if unknown), and that in words."""
    elapsed = now - run.started
    steps = run.progress()
    if steps and steps[0]:
        return steps[0] / steps[1], f"{steps[0]}/{steps[1]} steps, {elapsed:.0f} s"
    if run.estimate:
        return min(elapsed / run.estimate, 0.99), f"{elapsed:.0f} s of ~{run.estimate:.0f} s"
    return None, f"{elapsed:.0f} s"


def seconds_left(running: list[Run], pending: list[Run], slots: int, now: float) -> float | None:
    """All the work left, spread over the slots; None while any part of it was never timed."""
    left = 0.0
    for run in running:
        done, _ = fraction(run, now)
        if done is None:
            return None
        elapsed = now - run.started
        left += elapsed * (1 - done) / done if done > 0 else (run.estimate or 0)
    if any(run.estimate is None for run in pending):
        return None
    return (left + sum(run.estimate for run in pending)) / max(1, min(slots, len(running)))


class Display:
    def __init__(self, stream: TextIO, total: int):
        self.stream, self.total, self.done = stream, total, 0
        self._last = time.monotonic()
        self._live = None
        if getattr(stream, "isatty", lambda: False)():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            self._live = Progress(
                TextColumn("{task.description:<28}"),
                BarColumn(bar_width=30),
                TextColumn("{task.fields[words]}"),
                console=Console(file=stream),
                transient=True,
            )
            self._tasks: dict[str, int] = {}
            self._whole = self._live.add_task("figures", total=total, words="")
            self._live.start()

    def line(self, text: str) -> None:
        if self._live:
            self._live.console.print(text, highlight=False, markup=False)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def started(self, run: Run) -> None:
        self.line(f"figures: running {run.name}")

    def finished(self, run: Run, message: str) -> None:
        self.done += 1
        self.line(message)
        if self._live and run.name in self._tasks:
            self._live.remove_task(self._tasks.pop(run.name))

    def update(self, running: list[Run], pending: list[Run], slots: int) -> None:
        now = time.monotonic()
        left = seconds_left(running, pending, slots, now)
        overall = f"{self.done} of {self.total} done" + (
            f", about {left:.0f} s left" if left is not None else ""
        )
        if self._live:
            for run in running:
                done, words = fraction(run, now)
                if run.name not in self._tasks:
                    self._tasks[run.name] = self._live.add_task(run.name, total=1.0, words="")
                self._live.update(self._tasks[run.name], completed=done or 0, words=words)
            self._live.update(self._whole, completed=self.done, words=overall)
        elif now - self._last >= REPORT_EVERY and running:
            runs = ", ".join(f"{r.name} {fraction(r, now)[1]}" for r in running)
            self.line(f"figures: {overall}; running {runs}")
            self._last = now

    def close(self) -> None:
        if self._live:
            self._live.stop()
