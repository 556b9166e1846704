"""User-facing errors: each names the file, the line, the path in the document and the reason.

The CLI turns a ``LabInputError`` into one line per problem on stderr and exit code 2, before
anything is deployed. No user mistake may surface as a Python traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class LabInputError(Exception):
    """One or more problems in a file the user gave us (topology or policy)."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class LabStateError(Exception):
    """The lab on this host is not in the state the command needs (exit 1)."""

    exit_code = 1
