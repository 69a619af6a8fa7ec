"""Cross-document references: link clauses that name a clause of another document to that document's policy."""

from __future__ import annotations

from dataclasses import replace

from engine.core.errors import CompileError, Problem, ProblemList
from engine.workspace import Library, LookupFailed
from engine.core.messages import msg
from engine.model.policy import Clause, Policy
from engine.core.suggest import did_you_mean

MAX_DOCUMENTS = 32  # a closure of referenced documents larger than this is a mistake


def _problem(policy: Policy, clause: Clause, message: str, suggestion: str | None = None) -> Problem:
    where = clause.where
    return Problem(message, file=where.file, line=where.line, column=where.column, clause=clause.id,
                   suggestion=suggestion)


def link(policy: Policy, library: Library) -> Policy:
    """Attach the policies of documents referred to by clause, found by their declared document number.

    A document whose policy file is not supplied stays unlinked (its clauses report 'referred').
    """
    if not library.has_sources() or not any(c.refers_clause for c in policy.clauses):
        return policy
    from engine.model.compile import compile_policy  # compiler imports this module
    from engine.syntax.inherit import load_resolved

    problems = ProblemList()
    registry: dict[str, Policy] = {}
    compiled: dict[str, Policy] = {policy.document: policy}
    queue = [policy]
    while queue:
        current = queue.pop(0)
        for clause in current.clauses:
            doc = clause.refers_to
            if not clause.refers_clause or doc in compiled:
                continue
            try:
                path = library.find_document(doc)
            except LookupFailed as exc:
                if exc.ambiguous:
                    problems.add(_problem(current, clause, exc.message, exc.suggestion))
                continue  # not supplied: the clause stays 'referred'
            if len(compiled) >= MAX_DOCUMENTS:
                problems.add(_problem(current, clause, msg("references.too_many", limit=MAX_DOCUMENTS)))
                break
            other = compile_policy(load_resolved(path, library))
            compiled[doc] = other
            queue.append(other)
    problems.raise_if_any(CompileError)
    for doc, other in compiled.items():
        registry[doc] = replace(other, linked=registry)
    _check(registry, problems)
    problems.raise_if_any(CompileError)
    return registry[policy.document]


def _check(registry: dict[str, Policy], problems: ProblemList) -> None:
    """Each named clause exists; facts shared across documents agree; no clause reaches itself."""
    edges: dict[tuple[str, str], tuple[str, str]] = {}
    for doc, policy in registry.items():
        for clause in policy.clauses:
            if not clause.refers_clause or clause.refers_to not in registry:
                continue
            target = registry[clause.refers_to]
            ids = [c.id for c in target.clauses]
            if clause.refers_clause not in ids:
                problems.add(_problem(policy, clause,
                                      msg("references.no_clause", clause=clause.refers_clause,
                                          document=clause.refers_to, file=target.file),
                                      did_you_mean(clause.refers_clause, ids)
                                      or msg("references.its_clauses", ids=", ".join(ids))))
                continue
            if target.clause(clause.refers_clause).measure is not None:
                problems.add(_problem(policy, clause, msg("references.measure", clause=clause.refers_clause,
                                                          document=clause.refers_to)))
                continue
            edges[(doc, clause.id)] = (clause.refers_to, clause.refers_clause)
            for name, fact in target.facts.items():
                mine = policy.facts.get(name)
                if mine is not None and mine.type != fact.type:
                    problems.add(_problem(policy, clause,
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
                problems.add(_problem(policy, policy.clause(start[1]), msg("references.cycle", loop=loop),
                                      msg("references.cycle.hint")))
                break
            if node in seen:
                break  # a cycle not through `start`; it is reported from one of its own members
            seen.append(node)
            node = edges[node]
