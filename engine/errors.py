"""Error types: one root PolicyError, one subclass per pipeline stage, each carrying its location."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a user's file: where, what, and what to do about it."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: tuple[str | int, ...] = ()
    clause: str | None = None
    suggestion: str | None = None
    severity: str = "error"
    inherited_by: str | None = None  # the file that inherits the line at fault (file:line is the parent's)

    @property
    def json_path(self) -> str:
        return json_path(self.path)

    def location(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def format(self) -> str:
        """The one-line form `file:line:col: error: message [at $.path] (clause 2.1)`, plus a hint line."""
        where = []
        if self.path:
            where.append(f"at {self.json_path}")
        if self.clause:
            where.append(f"clause {self.clause}")
        if self.inherited_by:
            where.append(f"inherited by {self.inherited_by}")
        tail = f" ({', '.join(where)})" if where else ""
        text = f"{self.location()}: {self.severity}: {self.message}{tail}"
        if self.suggestion:
            text += f"\n    hint: {self.suggestion}"
        return text

    def to_json(self) -> dict:
        return {
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.json_path,
            "clause": self.clause,
            "suggestion": self.suggestion,
            "inherited_by": self.inherited_by,
        }


def json_path(path: Sequence[str | int]) -> str:
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


class PolicyError(Exception):
    """Root of every error caused by what a user wrote. Carries one or more Problems."""

    stage = "policy"

    def __init__(self, problems: Problem | Iterable[Problem]):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(p.format() for p in self.problems))

    def format(self) -> str:
        return "\n".join(p.format() for p in self.problems)


class LoadError(PolicyError):
    """The file could not be read as strict YAML/JSON."""

    stage = "load"


class SchemaError(PolicyError):
    """The document does not match the policy language's JSON Schema."""

    stage = "schema"


class InheritError(PolicyError):
    """A file that extends another names a parent, or an entry of it, that cannot be found or merged."""

    stage = "inherit"


class CompileError(PolicyError):
    """The document is well-formed but means something impossible (bad expression, unknown name)."""

    stage = "compile"


class FactsError(PolicyError):
    """The applicant's facts do not fit what the policy declares."""

    stage = "facts"


class EvaluateError(PolicyError):
    """Evaluation hit something the policy author must fix (e.g. a division by zero)."""

    stage = "evaluate"


@dataclass
class ProblemList:
    """Collects all problems of one stage so they are reported together, not only the first."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self, error_type: type[PolicyError]) -> None:
        if self.problems:
            ordered = sorted(self.problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0))
            raise error_type(ordered)
