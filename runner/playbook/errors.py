"""The errors a playbook can have, each pointing at its place in the file.

A `Problem` is one thing wrong with one node of one file; a `PlaybookError` carries every
problem found in a file, sorted by position, so the user fixes them all in one pass. This
module renders problems for people (one line each) and for machines (plain dicts); it must
never decide what is wrong — that is `load`, `validate` and `rules`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from runner.errors import RunnerError

# A path into the document: mapping keys and list indices, from the root.
FieldPath = tuple[str | int, ...]


def format_field_path(path: Sequence[str | int]) -> str:
    """`("symbols", "PERP_X_USDC", "orders", 0)` -> `symbols.PERP_X_USDC.orders[0]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not part or any(not c.isprintable() or c in " .[]'\"" for c in part):
            text += f"[{part!r}]"  # a key no field has: quoted, so the path stays one line
        else:
            text += f".{part}" if text else part
    return text


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong at one place: line and col are 1-based (0 when there is no position)."""

    file: str
    line: int
    col: int
    field_path: str
    message: str
    fix: str = ""

    def sort_key(self) -> tuple[int, int, str, str]:
        return (self.line, self.col, self.field_path, self.message)

    def render(self) -> str:
        """`file:line:col: field.path: what is wrong (how to fix)` on one line."""
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        text = f"{where}: "
        if self.field_path:
            text += f"{self.field_path}: "
        text += self.message
        if self.fix:
            text += f" ({self.fix})"
        # one problem, one line, whatever text the file smuggled into a message
        return text.replace("\r", "\\r").replace("\n", "\\n")

    def as_dict(self) -> dict[str, str | int]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "field": self.field_path,
            "message": self.message,
            "fix": self.fix,
        }


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Sort by position and drop exact repeats (one cause can be seen by two checks)."""
    return sorted(set(problems), key=Problem.sort_key)


class PlaybookError(RunnerError):
    """A playbook file cannot be used; `problems` lists everything wrong with it."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sort_problems(problems))
        if not self.problems:
            raise ValueError("PlaybookError needs at least one problem")
        super().__init__(self.problems[0].render())

    def __str__(self) -> str:
        return "\n".join(problem.render() for problem in self.problems)
