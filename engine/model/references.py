"""Cross-document references: link clauses that name a clause of another document to that document's policy."""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from engine.core.errors import CompileError, Problem, ProblemList
from engine.core.messages import msg
from engine.core.suggest import did_you_mean
from engine.model.policy import Clause, Links, Policy


def clause_problem(clause: Clause, message: str, suggestion: str | None = None) -> Problem:
    where = clause.where
    return Problem(message, file=where.file, line=where.line, column=where.column, clause=clause.id,
                   suggestion=suggestion)


def linked_set(compiled: dict[str, Policy], document: str, problems: ProblemList) -> Policy:
    """The policies of one linked set, each seeing the others by document number; the one for `document`.

    The set is checked (each named clause exists, shared facts agree, no clause reaches itself) and sealed.
    """
    links = Links()
    for doc, other in compiled.items():
        links.add(doc, replace(other, linked=links))
    _check(links, problems)
    problems.raise_if_any(CompileError)
    links.seal()
    return links[document]


def _check(registry: Mapping[str, Policy], problems: ProblemList) -> None:
    """Each named clause exists; facts shared across documents agree; no clause reaches itself."""
    edges: dict[tuple[str, str], tuple[str, str]] = {}
    for doc, policy in registry.items():
        for clause in policy.clauses:
            if not clause.refers_clause or clause.refers_to is None or clause.refers_to not in registry:
                continue
            target = registry[clause.refers_to]
            ids = [c.id for c in target.clauses]
            if clause.refers_clause not in ids:
                problems.add(clause_problem(clause,
                                      msg("references.no_clause", clause=clause.refers_clause,
                                          document=clause.refers_to, file=target.file),
                                      did_you_mean(clause.refers_clause, ids)
                                      or msg("references.its_clauses", ids=", ".join(ids))))
                continue
            if target.clause(clause.refers_clause).measure is not None:
                problems.add(clause_problem(clause, msg("references.measure", clause=clause.refers_clause,
                                                          document=clause.refers_to)))
                continue
            edges[(doc, clause.id)] = (clause.refers_to, clause.refers_clause)
            for name, fact in target.facts.items():
                mine = policy.facts.get(name)
                if mine is not None and mine.type != fact.type:
                    problems.add(clause_problem(clause,
                                          msg("references.fact_type", name=name, mine=mine.type, theirs=fact.type,
                                              file=target.file),
                                          msg("references.fact_type.hint")))
    for start in edges:
        seen = [start]
        node = edges[start]
        while node in edges:
            if node == start:
                if start != min(seen):
                    break  # reported once, from its first member
                policy = registry[start[0]]
                loop = " → ".join(f"{d} {c}" for d, c in seen + [start])
                problems.add(clause_problem(policy.clause(start[1]), msg("references.cycle", loop=loop),
                                      msg("references.cycle.hint")))
                break
            if node in seen:
                break  # a cycle not through `start`; it is reported from one of its own members
            seen.append(node)
            node = edges[node]
