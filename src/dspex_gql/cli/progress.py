"""Progress bars of long commands, on stderr (stdout keeps what scripts read)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


def progress_bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
        console=Console(stderr=True),
    )


class MigrationBar:
    """A bar of the revisions a migration applies (`migrations.Steps`)."""

    def __init__(self) -> None:
        self._progress = progress_bar()
        self._task: TaskID | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._progress.stop()

    def planned(self, count: int | None) -> None:
        """Drawn only when there is something to do: a failure or no step leaves no bar."""
        if count:
            self._task = self._progress.add_task("migrating", total=count, status="")
            self._progress.start()

    def applied(self, description: str) -> None:
        if self._task is not None:
            self._progress.update(self._task, advance=1, status=description)
