"""Progress of a long command on its stderr: a bar when stderr is a terminal, quiet otherwise.

``Progress(stream, total=N, unit="calls")`` draws a tqdm bar when ``stream`` is a terminal; on a
pipe, a file or a log it writes nothing, except one line every 10% at ``--verbosity 2`` and up (a
log-friendly trace). ``update(n)`` adds, ``advance_to(done)`` sets the count; use it as a context
manager so the bar is closed on errors too.
"""

from __future__ import annotations

from types import TracebackType
from typing import IO, Any

from tqdm import tqdm


def is_terminal(stream: Any) -> bool:
    """Django wraps stderr in an OutputWrapper: ask the stream underneath."""
    raw = getattr(stream, "_out", stream)
    isatty = getattr(raw, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    def __init__(self, stream: Any, *, total: int | None, unit: str, desc: str = "", verbosity: int = 1) -> None:
        self.total, self.unit, self.done = total, unit, 0
        raw: IO[str] = getattr(stream, "_out", stream)
        self._raw = raw
        self._bar = (
            tqdm(
                total=total,
                unit=f" {unit}",
                desc=desc,
                file=raw,
                dynamic_ncols=True,
                unit_scale=bool(total is None or total >= 100_000),
                leave=True,
            )
            if is_terminal(stream)
            else None
        )
        # Without a terminal: a line every tenth at --verbosity 2, else nothing.
        self._step = max((total or 0) // 10, 1) if verbosity >= 2 and total else 0
        self._mark = self._step

    def update(self, n: int = 1) -> None:
        self.advance_to(self.done + n)

    def advance_to(self, done: int) -> None:
        if self._bar is not None:
            self._bar.update(done - self.done)
        elif self._step and done >= self._mark:
            self._raw.write(f"  {done:,} {self.unit}\n")
            while done >= self._mark:
                self._mark += self._step
        self.done = done

    def stage(self, text: str) -> None:
        """Name the step under way (commands made of a few long statements)."""
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
