"""Lint: parameters' dated values (gaps, jumps), numbers in the document's text that the rules do not use, and the
period in force."""

from __future__ import annotations

from decimal import Decimal
from typing import Iterator

from engine.core.amounts import plain
from engine.model.policy import Clause
from engine.syntax.loader import Path_
from engine.tools.lint.base import (
    EXPIRY_WARNING_DAYS,
    INFO,
    MAX_STEP_RATIO,
    WARNING,
    LinterBase,
    _listed,
    _RuleNumber,
    _show,
)
from engine.tools.numbers import literals_in, matches, numbers_in


class NumberChecks(LinterBase):
    # -- parameters ----------------------------------------------------------------------------
    def parameters(self) -> None:
        for name, param in self.policy.parameters.items():
            dated = "values" in self.doc["parameters"][name]

            def vpath(i: int, name: str = name, dated: bool = dated) -> Path_:
                return ("parameters", name, "values", i, "value") if dated else ("parameters", name, "value")

            kind = param.kind
            for i, v in enumerate(param.values):
                beyond = kind.out_of_range(v.value, {"value": _show(v.value, kind.measure), "name": name,
                                                     "label": param.label, "start": v.start})
                if beyond is not None:  # a percentage above 100%, money below 0
                    self.found.append(self.source.problem(beyond[0], vpath(i), severity=WARNING,
                                                          suggestion=beyond[1]))
            for i, (old, new) in enumerate(zip(param.values, param.values[1:], strict=False), start=1):
                if old.value and new.value and (new.value / old.value > MAX_STEP_RATIO or
                                                old.value / new.value > MAX_STEP_RATIO):
                    self.add("lint.step", "lint.step.hint",
                             vpath(i), name=name, label=param.label, old=_show(old.value, param.type),
                             new=_show(new.value, param.type), start=new.start, ratio=plain(MAX_STEP_RATIO))

    # -- numbers checked against the source text ---------------------------------------------------
    def text_numbers(self) -> None:
        """Each number a clause's rule uses against the numbers its `text:` states, and back; each parameter's
        value against its own `text:`. A transcription slip (5万元 typed for 50万元) shows as a number on one side
        the other does not have (engine.tools.numbers reads the sentences)."""
        p = self.policy
        slipped = self.parameter_texts()
        rules = [self.rule_numbers(i, c) for i, c in enumerate(p.clauses)]
        texts = [numbers_in(c.text) if c.text else [] for c in p.clauses]
        everywhere = [(r.value, r.currency) for found in rules for r in found]
        for i, clause in enumerate(p.clauses):
            rule, text = rules[i], texts[i]
            if clause.text is None or not rule:  # a measure, a reference: its numbers are another document's
                continue
            # Tiers written as clauses bound each other: 150万元 for "超过1亿元" is "未超过2亿元" too, and 2亿元 is
            # the threshold of the clause beside it (same article), not of this one's sentence.
            thresholds = [t for j in self.beside(clause) for t in texts[j]
                          if any(r.condition and matches(r.value, r.currency, t) for r in rules[j])]
            unused = [t for t in text if t.reported and not any(matches(r.value, r.currency, t) for r in rule)]
            missing = False
            for r in rule:
                if r.value == 0 or (r.param is not None and p.parameters[r.param].text):  # see parameter_texts
                    continue
                if any(matches(r.value, r.currency, t) for t in text) or \
                        (r.condition and any(matches(r.value, r.currency, t) for t in thresholds)):
                    continue
                missing = True
                values = {"clause": clause.id, "value": r.shown, "numbers": _listed(unused)}
                self.report("lint.text.rule_number",
                            "lint.text.rule_number.unused" if unused else "lint.text.rule_number.hint",
                            r.path, values)
            if missing or slipped & {r.param for r in rule} or not self.own(("clauses", i, "text")):
                continue  # the slip is reported once, where the rule has it; a county cannot edit the city's words
            for t in unused:
                # A number this clause's rule never uses may restate another clause's (the 500万元 of the clause
                # it builds on): only one no rule uses at all is reported.
                if not any(matches(v, c, t) for v, c in everywhere):
                    self.report("lint.text.unused", "lint.text.unused.hint", ("clauses", i, "text"),
                                {"clause": clause.id, "number": t.shown,
                                 "used": "、".join(dict.fromkeys(r.shown for r in rule))})

    def parameter_texts(self) -> set[str]:
        """Each parameter's values (those this document sets) against the numbers its own `text:` states; the
        names of the parameters found to differ."""
        found: set[str] = set()
        for name, param in self.policy.parameters.items():
            if not param.text:
                continue
            words = self.source.locate(("parameters", name, "text"))[0]
            stated = numbers_in(param.text)
            for k, v in enumerate(param.values):
                path = self.value_path(name, k)
                # A county's value under the city's words, or an amendment's under the original's, is not
                # stated by these words.
                if not self.from_this_document(v.source) or self.source.locate(path)[0] != words:
                    continue
                if v.value == 0 or any(matches(v.value, None, t) for t in stated):
                    continue
                found.add(name)
                self.add("lint.text.parameter",
                         "lint.text.parameter.hint" if stated else "lint.text.parameter.none", path,
                         name=name, label=param.label, value=_show(v.value, param.type), text=param.text,
                         numbers=_listed(stated))
        return found

    def rule_numbers(self, i: int, clause: Clause) -> list[_RuleNumber]:
        """The numbers clause `i`'s rule uses: in its conditions, its award and its cap, and the values of the
        parameters these read (those this document sets)."""
        out: list[_RuleNumber] = []
        spec = self.doc["clauses"][i]
        own = [c for c in clause.conditions if not c.shared]  # shared ones are the policy's, not the clause's text
        for n, cond in enumerate(own):
            path: Path_ = ("clauses", i, "when", n)
            if isinstance(spec["when"][n], dict):
                path += ("if",)
            out += [_RuleNumber(x.value, x.currency, x.shown, path, condition=True)
                    for x in literals_in(cond.expr.text)]
        if clause.award is not None:
            written = {e.text for e in clause.award.expressions()}

            def entries(value: object, at: Path_) -> Iterator[tuple[Path_, object]]:
                # nested entries too: the bands of a tiers award
                if isinstance(value, dict):
                    for key, item in value.items():
                        yield from entries(item, at + (key,))
                elif isinstance(value, list):
                    for k, item in enumerate(value):
                        yield from entries(item, at + (k,))
                else:
                    yield at, value

            for at, value in entries(spec.get("award", {}), ("clauses", i, "award")):
                text = plain(value) if isinstance(value, Decimal) and not isinstance(value, bool) \
                    else " ".join(value.split()) if isinstance(value, str) else None
                if text in written:  # an expression: not a label, a unit or a clause id (bonus_to: "5.1")
                    out += [_RuleNumber(x.value, x.currency, x.shown, at) for x in literals_in(text)]
        if clause.cap is not None:
            out += [_RuleNumber(x.value, x.currency, x.shown, ("clauses", i, "cap"))
                    for x in literals_in(clause.cap.text)]
        for name in sorted(n for n in clause.reads() if n in self.policy.parameters):
            param = self.policy.parameters[name]
            out += [_RuleNumber(v.value, None, _show(v.value, param.type), self.value_path(name, k), name)
                    for k, v in enumerate(param.values) if self.from_this_document(v.source)]
        return out

    def beside(self, clause: Clause) -> list[int]:
        """The other clauses of the same article."""
        return [j for j, c in enumerate(self.policy.clauses)
                if c.id != clause.id and clause.article is not None and c.article == clause.article]

    def from_this_document(self, source: str | None) -> bool:
        """Whether a dated value is set by the document this file encodes (no source, or a source naming it)."""
        return source is None or self.policy.document in source

    def value_path(self, name: str, k: int) -> Path_:
        """Where the `k`th value of parameter `name` is written."""
        dated = "values" in self.doc["parameters"][name]
        return ("parameters", name, "values", k, "value") if dated else ("parameters", name, "value")

    # -- period of force -----------------------------------------------------------------------
    def in_force(self) -> None:
        p, today = self.policy, self.today
        if p.fund_year is not None and p.fund_year_in_force is None and self.own(("fund_year",)):
            # Claims state their fund year, and nothing says which years the policy pays: a year wholly before
            # or after the period in force would be paid.
            self.add("lint.fund_year_in_force", "lint.fund_year_in_force.hint", ("fund_year",), prefer_key=True,
                     severity=INFO, name=p.fund_year)
        if p.start > today:
            self.add("lint.not_in_force", "lint.not_in_force.hint",
                     ("in_force", "from"), severity=INFO, start=p.start, today=today,
                     days=(p.start - today).days)
        if p.end is None:
            return
        if p.end < today:
            self.add("lint.expired", "lint.expired.hint",
                     ("in_force", "until"), end=p.end, today=today, days=(today - p.end).days)
        elif (p.end - today).days <= EXPIRY_WARNING_DAYS:
            self.add("lint.expires", "lint.expires.hint",
                     ("in_force", "until"), end=p.end, today=today, days=(p.end - today).days)
