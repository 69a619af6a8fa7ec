"""Error types: one root PolicyError, one subclass per pipeline stage, each carrying its location."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from engine.core.messages import localize, t

# A problem's severity as shown; one the catalogue does not word is shown as it is.
_SEVERITY = {"error": "severity.error", "warning": "severity.warning", "info": "severity.info"}


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

    def format(self, lang: str | None = None) -> str:
        """The one-line form `file:line:col: error: message [at $.path] (clause 2.1)`, plus a hint line.

        lang None gives the English form tools and tests read; "zh" or "en" the officer's language.
        """
        def word(key: str, **values: object) -> str:
            return t(key, lang or "en", **values)

        where: list[str] = []
        if self.path:
            where.append(word("problem.at", path=self.json_path))
        if self.clause:
            where.append(word("problem.clause", clause=self.clause))
        if self.inherited_by:
            where.append(word("problem.inherited_by", file=self.inherited_by))
        tail = word("problem.where", where=word("problem.sep").join(where)) if where else ""
        severity = word(_SEVERITY[self.severity]) if self.severity in _SEVERITY else self.severity
        text = word("problem.line", location=self.location(), severity=severity,
                    message=localize(self.message, lang)) + tail
        if self.suggestion:
            text += "\n    " + word("problem.hint", hint=localize(self.suggestion, lang))
        return text

    def to_json(self, lang: str | None = None) -> dict[str, object]:
        return {
            "severity": self.severity,
            "message": localize(self.message, lang),
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.json_path,
            "clause": self.clause,
            "suggestion": localize(self.suggestion, lang),
            "inherited_by": self.inherited_by,
        }


def json_path(path: Sequence[str | int]) -> str:
    """A location in a document as a JSON path: ("granted", "2.2") is $.granted['2.2']."""
    out = "$"
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


class PolicyError(Exception):
    """Root of every error caused by what a user wrote. Carries one or more Problems."""

    def __init__(self, problems: Problem | Iterable[Problem]):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(p.format() for p in self.problems))

    def format(self, lang: str | None = None) -> str:
        return "\n".join(p.format(lang) for p in self.problems)


class LoadError(PolicyError):
    """The file could not be read as strict YAML/JSON."""


class SchemaError(PolicyError):
    """The document does not match the policy language's JSON Schema."""


class InheritError(PolicyError):
    """A file that extends another names a parent, or an entry of it, that cannot be found or merged."""


class CompileError(PolicyError):
    """The document is well-formed but means something impossible (bad expression, unknown name)."""


class FactsError(PolicyError):
    """The applicant's facts do not fit what the policy declares."""


class EvaluateError(PolicyError):
    """Evaluation hit something the policy author must fix (e.g. a division by zero)."""


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
