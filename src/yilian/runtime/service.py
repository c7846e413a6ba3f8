"""What every embedded service shares: it can be stopped, and used as a context manager that stops it."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class StoppableService:
    def stop(self, timeout: float = 30.0) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
