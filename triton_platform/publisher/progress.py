"""Progress reporting for long transfers and builds: a rich bar on a terminal, log lines elsewhere.

`pulumi up` runs the publisher inside a dynamic provider, which has no TTY: there the same
calls print one plain line per task every few seconds instead of redrawing a bar. Every task
is timed, so ``summary()`` can say bytes, seconds and MB/s per operation afterwards.
Thread-safe: transfer libraries report bytes from their worker threads.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any, Protocol, runtime_checkable

MB = 1_000_000


@dataclass(frozen=True)
class OperationSummary:
    """What one finished (or abandoned) task did."""

    description: str
    bytes: int
    seconds: float

    @property
    def mb_per_s(self) -> float:
        return self.bytes / MB / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        return f"{self.description}: {self.bytes / MB:.1f} MB in {self.seconds:.2f} s ({self.mb_per_s:.1f} MB/s)"


@runtime_checkable
class TaskHandle(Protocol):
    """One running operation; ``advance`` is safe to call from any thread."""

    def advance(self, n: int) -> None: ...

    def finish(self) -> None: ...


class Task:
    """A timed operation of known (or unknown, ``total_bytes=0``) size."""

    def __init__(self, owner: Progress, description: str, total_bytes: int) -> None:
        self._owner = owner
        self.description = description
        self.total_bytes = max(0, int(total_bytes))
        self.done_bytes = 0
        self.started = time.perf_counter()
        self.finished_at: float | None = None
        self._last_log = self.started
        self._lock = threading.Lock()
        self._rich_id: Any = None

    @property
    def seconds(self) -> float:
        end = self.finished_at if self.finished_at is not None else time.perf_counter()
        return end - self.started

    def advance(self, n: int) -> None:
        # Transfer libraries report negative amounts when they retry a part.
        with self._lock:
            self.done_bytes = max(0, self.done_bytes + int(n))
        self._owner._advanced(self, int(n))

    def finish(self) -> None:
        with self._lock:
            if self.finished_at is not None:
                return
            self.finished_at = time.perf_counter()
        self._owner._finished(self)

    def __enter__(self) -> Task:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish()


class Progress:
    """Reports tasks on stderr: a rich progress bar on a TTY, periodic plain lines otherwise.

    ``interactive`` forces one mode (None: decide from ``stream.isatty()``); ``log`` receives
    the plain lines (default: print to ``stream``).
    """

    def __init__(
        self,
        *,
        stream: IO[str] | None = None,
        interactive: bool | None = None,
        log_interval_s: float = 5.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        if interactive is None:
            isatty = getattr(self._stream, "isatty", None)
            interactive = bool(isatty and isatty())
        self.interactive = interactive
        self.log_interval_s = log_interval_s
        self._log = log
        self._lock = threading.Lock()
        self._active: list[Task] = []
        self._done: list[OperationSummary] = []
        self._rich: Any = None

    # --- public API -------------------------------------------------------------------------

    def task(self, description: str, total_bytes: int = 0) -> Task:
        """Start a timed task; call ``advance(n)`` as bytes move and ``finish()`` (or use ``with``)."""
        task = Task(self, description, total_bytes)
        with self._lock:
            self._active.append(task)
            if self.interactive:
                bar = self._rich_bar()
                task._rich_id = bar.add_task(description, total=task.total_bytes or None)
        return task

    def note(self, message: str) -> None:
        """A one-off status line (build started, object skipped...)."""
        if self.interactive and self._rich is not None:
            self._rich.console.print(message)
        else:
            self._emit(message)

    def summary(self, *, echo: bool = False) -> list[OperationSummary]:
        """Bytes, seconds and MB/s of every finished task, in finishing order; printed if ``echo``."""
        with self._lock:
            done = list(self._done)
        if echo:
            for op in done:
                self._emit(op.line())
        return done

    def close(self) -> None:
        """Finish every open task and stop the bar."""
        for task in list(self._active):
            task.finish()
        with self._lock:
            self._stop_rich()

    # --- callbacks from tasks ---------------------------------------------------------------

    def _advanced(self, task: Task, n: int) -> None:
        if self.interactive:
            bar = self._rich
            if bar is not None and task._rich_id is not None:
                bar.update(task._rich_id, advance=n)
            return
        now = time.perf_counter()
        if now - task._last_log >= self.log_interval_s:
            task._last_log = now
            self._emit(self._status_line(task))

    def _finished(self, task: Task) -> None:
        op = OperationSummary(task.description, task.done_bytes, task.seconds)
        with self._lock:
            self._done.append(op)
            if task in self._active:
                self._active.remove(task)
            if self.interactive and self._rich is not None:
                if task._rich_id is not None:
                    self._rich.update(task._rich_id, completed=task.done_bytes, total=task.done_bytes or None)
                if not self._active:
                    self._stop_rich()
        if not self.interactive:
            self._emit(f"done {op.line()}")

    # --- output -------------------------------------------------------------------------------

    def _status_line(self, task: Task) -> str:
        rate = task.done_bytes / MB / task.seconds if task.seconds > 0 else 0.0
        if task.total_bytes:
            pct = 100.0 * task.done_bytes / task.total_bytes
            return (
                f"{task.description}: {task.done_bytes / MB:.1f}/{task.total_bytes / MB:.1f} MB "
                f"({pct:.0f}%) {rate:.1f} MB/s"
            )
        return f"{task.description}: {task.done_bytes / MB:.1f} MB {rate:.1f} MB/s"

    def _emit(self, line: str) -> None:
        if self._log is not None:
            self._log(line)
        else:
            print(line, file=self._stream, flush=True)

    def _rich_bar(self) -> Any:
        if self._rich is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self._stream),
                transient=False,
            )
            self._rich.start()
        return self._rich

    def _stop_rich(self) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None


class NullProgress(Progress):
    """Prints nothing but still times tasks, so tests can read ``summary()``."""

    def __init__(self) -> None:
        super().__init__(interactive=False, log=lambda _line: None)


def ensure_progress(progress: Progress | None) -> Progress:
    """``progress`` or a silent one, for functions whose progress argument is optional."""
    return progress if progress is not None else NullProgress()
