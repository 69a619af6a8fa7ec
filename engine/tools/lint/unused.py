"""Lint: names, references and readings declared and never used."""

from __future__ import annotations

from engine.model.facts import names_of_clause
from engine.tools.lint.base import LinterBase


class UnusedChecks(LinterBase):
    # -- unused declarations -------------------------------------------------------------------
    def unused_names(self) -> None:
        used: set[str] = {self.policy.fund_year} if self.policy.fund_year else set()
        for clause in self.policy.clauses:
            used |= names_of_clause(clause)
            if clause.per is not None:
                used.add(clause.per)
        # The date facts in which an applicant states the days a used figure covers (counted_over: dates:) are
        # read by the facts check, never by a clause.
        used |= {d for n in list(used) if n in self.policy.facts and self.policy.facts[n].window is not None
                 for d in self.policy.facts[n].window.dates}  # type: ignore[union-attr]
        # A county that removes a clause leaves the parent's declarations for it unused; it cannot remove
        # those, so only what this file declares itself is reported.
        for name, fact in self.policy.facts.items():
            if name not in used and self.own(("facts", name)):
                self.add("lint.unused_fact", "lint.unused_fact.hint",
                         ("facts", name), prefer_key=True, name=name, label=fact.label)
        for name, param in self.policy.parameters.items():
            if name not in used and self.own(("parameters", name)):
                self.add("lint.unused_parameter", "lint.unused_parameter.hint",
                         ("parameters", name), prefer_key=True, name=name, label=param.label)

    def unused_references(self) -> None:
        referred = {c.refers_to for c in self.policy.clauses}
        # A document cited in a clause's text or a fact's wording is in use, e.g. the rules by which a
        # yes/no fact (recognised as meeting the standard) is decided, without setting an amount.
        cited = " ".join([c.text or "" for c in self.policy.clauses] +
                         [f"{f.label} {f.description or ''}" for f in self.policy.facts.values()])
        for ref in self.policy.references.values():
            if ref.role == "rules" and ref.id not in referred and ref.id not in cited \
                    and self.own(("references", ref.id)):
                self.add("lint.unused_reference", "lint.unused_reference.hint",
                         ("references", ref.id), prefer_key=True, id=ref.id)

    def unused_readings(self) -> None:
        used = {g.reading for g in self.policy.groups} | {self.policy.period_reading, self.policy.areas_reading,
                                                          self.policy.fund_year_reading}
        for clause in self.policy.clauses:
            used |= set(clause.readings) | {c.reading for c in clause.conditions}
        for rid, reading in self.policy.readings.items():
            if rid not in used and self.own(("readings", rid)):
                self.add("lint.unused_reading", "lint.unused_reading.hint", ("readings", rid), prefer_key=True, id=rid)
            if not reading.alternatives and self.own(("readings", rid)):
                # A reading is a choice between readings of the text: one with no other is not yet written down.
                self.add("lint.reading_without_alternative", "lint.reading_without_alternative.hint",
                         ("readings", rid), prefer_key=True, id=rid)
