"""Located problems of a flow file: `path:line:column: message`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class FlowProblem:
    line: int
    column: int
    message: str
    source: str = "<flow>"

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}: {self.message}"


class FlowLoadError(Exception):
    """A flow file that cannot be used; carries every problem found."""

    def __init__(self, problems: list[FlowProblem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
