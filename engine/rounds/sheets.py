"""Each applicant's calculation sheet as one HTML page, for the file the bureau keeps: the sheet's words
(engine.present.sheet), laid out like the review page (its stylesheet, Jinja2 with autoescaping)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Mapping

from engine.core.messages import t
from engine.model.outcome import Outcome
from engine.present.sheet import OUTCOME_KEYS, _total_text, amount_words, condition_text, reason_text, window_lines
from engine.present.words import PolicyWords
from engine.runtime.trace import Result

if TYPE_CHECKING:
    import jinja2


@dataclass
class SheetClause:
    id: str
    title: str
    outcome: str
    outcome_words: str
    amount: str
    reason: str
    conditions: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    missing: str = ""
    pool: str = ""


@dataclass
class Sheet:
    code: str
    name: str
    document: str
    title: str
    facts: list[tuple[str, str]]
    clauses: list[SheetClause]
    not_applicable: list[str]
    totals: list[str]


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.PackageLoader("engine.rounds", "templates"),
                                    jinja2.PackageLoader("engine.present", "templates")]),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def sheet_model(result: Result, lang: str, code: str, pools: Mapping[str, str], total: str | None = None) -> Sheet:
    """The view model of one applicant's sheet; `pools` is each pooled clause's sentence of the round, and
    `total` what the applicant is awarded once the pools are shared (None when no pool changed it)."""
    policy = result.policy
    w = PolicyWords(policy, lang)
    a = result.applicant
    facts = [(t("template.col.credit_code", lang), code), (t("head.applicant", lang), a.name or ""),
             (t("head.kind", lang), "、".join(policy.recipients[k].label for k in a.recipients)),
             (t("head.area", lang), a.area or t("head.area_missing", lang)),
             (t("head.date", lang), result.date.isoformat())]
    facts += [(t("sec.windows", lang), line) for line in window_lines(w, result)]  # 支持时间, as the text sheet
    clauses, not_applicable = [], []
    for r in result.clauses:
        c = r.clause
        if r.outcome is Outcome.NOT_APPLICABLE:
            not_applicable.append(f"{c.id} {c.title}{t('colon', lang)}{reason_text(w, r)}")
            continue
        steps = [line for step in r.steps for line in step.lines(w)]
        clauses.append(SheetClause(
            c.id, c.title, r.outcome.value, t(OUTCOME_KEYS[r.outcome], lang),
            amount_words(w, r) if r.outcome is Outcome.ELIGIBLE else "",
            reason_text(w, r) if r.outcome is not Outcome.ELIGIBLE else "",
            [condition_text(w, x) for x in r.conditions], steps,
            "；".join(w.missing(m) for m in r.missing), pools.get(c.id, "")))
    totals = _total_text(w, result)
    if total is not None and Decimal(total) != result.total:
        totals.insert(0, t("batch.html.pooled_total", lang, amount=w.money(Decimal(total))))
    return Sheet(code, a.name or "", policy.document, policy.title, facts, clauses, not_applicable, totals)


def render_sheet(result: Result, lang: str, code: str, pools: Mapping[str, str], total: str | None = None) -> str:
    model = sheet_model(result, lang, code, pools, total)

    def words(key: str, /, **values: Any) -> str:
        return t(key, lang, **values)

    return _environment().get_template("applicant.html.j2").render(s=model, lang=lang, t=words,
                                                                    colon=t("colon", lang))
