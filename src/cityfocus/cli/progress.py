"""Progress of long work that reads in a terminal and in a log: a live bar when stderr is a
terminal, else one plain line every few seconds (and one at the start and the end)."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

LOG_EVERY_SECONDS = 5.0


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"


class Reporter:
    """``with Reporter("replay", total=14, unit="decisions") as report: report.update(3)``.

    Args:
        label: what is running, shown first on every line.
        total: how many steps the work has.
        unit: what a step is, in the plural ("decisions", "fits").
        console: where to report (default: stderr).
    """

    def __init__(self, label: str, total: int, unit: str, console: Console | None = None) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.console = console or Console(stderr=True)
        self.done, self.description = 0, label
        self.started = self.last_line = time.monotonic()
        self.bar: Progress | None = None

    def __enter__(self) -> Reporter:
        if self.console.is_terminal:
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(),
                                console=self.console, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=self.total)
        else:
            self._line()
        return self

    def update(self, done: int, description: str | None = None) -> None:
        """``done`` steps are complete; ``description`` says what runs now."""
        self.done = done
        self.description = description or self.label
        if self.bar is not None:
            self.bar.update(self.task, completed=done, description=self.description)
        elif time.monotonic() - self.last_line >= LOG_EVERY_SECONDS:
            self._line()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()
        elif kind is None:
            self.description = self.label
            self._line(final=True)

    def _line(self, final: bool = False) -> None:
        self.last_line = time.monotonic()
        now = "done" if final else ("" if self.description == self.label else self.description)
        self.console.print(f"{self.label}: {self.done}/{self.total} {self.unit}, "
                           f"{_clock(self.last_line - self.started)} elapsed"
                           + (f", {now}" if now else ""),
                           highlight=False, markup=False, soft_wrap=True)
