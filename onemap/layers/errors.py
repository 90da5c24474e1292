"""The one error an import raises for bad data, listing every problem where a user can find it.

A clerk fixing a spreadsheet or a QGIS layer needs the file, the row (or feature) and the field,
not a traceback. :class:`LayerImportError` is a ``ValueError`` so the CLI and the server, which
already turn ``ValueError`` into a clear message, need no special case.

Row numbers are what the user sees: in a CSV the header is row 1 and the first record row 2 (as
in a spreadsheet); in a vector file features are counted from 1 in file order (QGIS's
attribute-table order).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Problems kept in detail; past this only the count grows (a million bad rows must not
#: become a million objects).
MAX_PROBLEMS = 1000
#: Problems spelled out in ``str()``.
SHOWN_PROBLEMS = 10


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an imported file."""

    file: str
    #: User-facing row/feature number (see the module docstring); None for file-level problems.
    row: int | None
    #: Canonical field name, ``"geometry"``, or None when the problem is about the whole file.
    field: str | None
    message: str
    #: "row" for CSV files, "feature" for vector files and in-memory frames.
    unit: str = "feature"

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"{self.unit} {self.row}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.message}"


def format_problems(problems: list[Problem], total: int | None = None) -> str:
    """The first :data:`SHOWN_PROBLEMS` problems, one per line, and how many there are."""
    total = len(problems) if total is None else total
    lines = [str(p) for p in problems[:SHOWN_PROBLEMS]]
    head = f"{total} problem{'s' if total != 1 else ''} in {problems[0].file}" if problems else (
        f"{total} problems")
    rest = total - len(lines)
    tail = [f"… and {rest} more"] if rest > 0 else []
    return "\n".join([head + ":", *("  " + line for line in lines), *tail])


class LayerImportError(ValueError):
    """A file (or frame) cannot be imported; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem], total: int | None = None):
        if not problems:
            raise ValueError("LayerImportError needs at least one problem")
        self.problems = list(problems)
        #: All problems found, including those past :data:`MAX_PROBLEMS` not kept in detail.
        self.total = max(total or 0, len(self.problems))
        super().__init__(format_problems(self.problems, self.total))

    @classmethod
    def single(cls, file: str, message: str, *, row: int | None = None,
               field: str | None = None, unit: str = "feature") -> LayerImportError:
        """An error with one problem, for file-level failures (empty file, not a zip, no CRS…)."""
        return cls([Problem(file, row, field, message, unit)])
