"""What was granted before, as it counts against one claim: the one place earlier grants are matched.

A claim is for a fund year (the policy's `fund_year:` fact, else the calendar year of the claim's date) and,
for a clause counted `per:` an object, for one object (a warehouse, a park). The applicant states earlier grants
either by clause, already summed as they count against this claim, or as a ledger of grants each with its year
and object; this module finds what counts:

- `counted(clause)`: what counts against the clause's own cap or once-rule: for `once` and `lifetime` every
  earlier grant under it (for the same object), for `year` those of the claim's fund year, for `claim` none.
- `in_year(clause)`: what was paid under the clause for the claim's fund year (and object): what exclusive
  groups compare, so that 2.1 paid earlier in a year counts against 2.2 exactly as 2.2 counts against 2.1.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Mapping

from engine.core.text import identity
from engine.core.values import MissingFact, Unknown
from engine.model.facts import Applicant, Grant
from engine.model.policy import Clause, Policy
from engine.runtime.trace import MissingGrant, MissingGrantYear

_ZERO = Decimal(0)


class Grants:
    """One claim's view of the applicant's earlier grants."""

    def __init__(self, policy: Policy, applicant: Applicant, env: Mapping[str, object], calendar_year: int):
        self.policy, self.env = policy, env
        self.summed = applicant.granted  # by clause, as it counts against this claim; None: not said
        self.ledger: dict[str, list[Grant]] = {}
        for grant in applicant.ledger:
            self.ledger.setdefault(grant.clause, []).append(grant)
        self.year: int | Unknown = calendar_year
        if policy.fund_year is not None:
            year = env.get(policy.fund_year)
            self.year = int(year) if isinstance(year, Decimal) else Unknown.of(MissingFact(policy.fund_year))

    def key(self, clause: Clause) -> str | Unknown | None:
        """The object this claim is for, under a clause counted per object; None when counted per recipient."""
        if clause.per is None:
            return None
        value = self.env.get(clause.per)
        return value if isinstance(value, str) else Unknown.of(MissingFact(clause.per))

    def counted(self, clause: Clause) -> Decimal | Unknown:
        """What counts against this claim under the clause's own cap or once-rule."""
        if self.summed is None:
            return Unknown.of(MissingGrant.of(clause.id))
        total = self.summed.get(clause.id, _ZERO)
        entries = self.ledger.get(clause.id)
        if not entries or clause.period == "claim":
            return total
        matched = self._matching(clause, entries, yearly=clause.period == "year")
        return matched if isinstance(matched, Unknown) else total + matched

    def in_year(self, clause: Clause) -> Decimal | Unknown:
        """What was paid under the clause for this claim's fund year (and object)."""
        if self.summed is None:
            return Unknown.of(MissingGrant.of(clause.id))
        summed = self.summed.get(clause.id, _ZERO)
        if summed and clause.period != "year":
            # Summed ever (once, lifetime) or per claim: whether it fell in this fund year is not said.
            return Unknown.of(MissingGrantYear.of(clause.id))
        entries = self.ledger.get(clause.id)
        if not entries:
            return summed
        matched = self._matching(clause, entries, yearly=True)
        return matched if isinstance(matched, Unknown) else summed + matched

    def _matching(self, clause: Clause, entries: list[Grant], yearly: bool) -> Decimal | Unknown:
        key = self.key(clause)
        if isinstance(key, Unknown):
            return key
        year = self.year
        if yearly and isinstance(year, Unknown):
            return year
        total = _ZERO
        for grant in entries:
            if yearly and grant.year != year:
                continue
            if key is not None and (grant.key is None or identity(grant.key) != identity(key)):
                continue
            total += grant.amount
        return self.policy.money.round(total)
