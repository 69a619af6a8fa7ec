"""The calculation sheet: a Result as text an officer could attach to a decision. Pure functions."""

from __future__ import annotations

import datetime as dt

from engine.core.format import format_money, show
from engine.core.messages import localize
from engine.core.values import by_key
from engine.model.declared import window_words
from engine.model.outcome import Outcome
from engine.present.words import PolicyWords
from engine.runtime.trace import CannotCompute, ClauseResult, ConditionResult, Followed, NotComputable, Result, ZeroStep

OUTCOME_KEYS = {Outcome.ELIGIBLE: "outcome.eligible", Outcome.INELIGIBLE: "outcome.ineligible",
                Outcome.UNDETERMINED: "outcome.undetermined", Outcome.REFERRED: "outcome.referred",
                Outcome.NOT_APPLICABLE: "outcome.not_applicable"}
DATE_SOURCE_KEYS = {"option": "date.option", "facts": "date.facts", "today": "date.today"}
STATUS_KEYS = {"met": "cond.met", "failed": "cond.failed", "unknown": "cond.unknown"}


def render_text(result: Result, lang: str | None = None) -> str:
    """The calculation sheet of a traced result, in `lang` (default: the policy's language)."""
    policy = result.policy
    w = PolicyWords(policy, lang or policy.language)
    colon = w.t("colon")
    a = result.applicant
    lines = [f"{policy.document}  {policy.title}"]
    kinds = "、".join(f"{policy.recipients[k].label} ({k})" for k in a.recipients)
    who = f"{w.t('head.applicant')}{colon}{a.name}  " if a.name else ""
    lines.append(f"{who}{w.t('head.kind')}{colon}{kinds}  {w.t('head.area')}{colon}{a.area or w.t('head.area_missing')}"
                 f"  {w.t('head.date')}{colon}{result.date.isoformat()} ({w.t(DATE_SOURCE_KEYS[result.date_source])})")
    if policy.period_assumed:
        lines.append(w.t("head.period_assumed", start=policy.start.isoformat(),
                         end=policy.end.isoformat() if policy.end else "…", reading=policy.period_reading or "-"))
    lines.append("=" * 72)
    lines.extend(_shared_text(w, result))
    lines.extend(_window_text(w, result))
    not_applicable = []
    for r in result.clauses:
        if r.outcome is Outcome.NOT_APPLICABLE:
            not_applicable.append(r)
            continue
        lines.extend(_clause_text(w, r))
        lines.append("")
    if not_applicable:
        lines.append(w.t("sec.not_applicable") + colon.rstrip())
        for r in not_applicable:
            lines.append(f"  {r.clause.id} {r.clause.title}{colon}{reason_text(w, r)}")
        lines.append("")
    lines.append("-" * 72)
    lines.extend(total_lines(w, result))
    return "\n".join(lines) + "\n"


def heading(w: PolicyWords, r: ClauseResult) -> str:
    c = r.clause
    article = f"{c.article} " if c.article else ""
    head = f"[{w.t(OUTCOME_KEYS[r.outcome])}] {c.id} {article}{c.title}"
    if r.outcome is Outcome.ELIGIBLE:
        head += f" —— {amount_words(w, r)}"
    return head


def amount_words(w: PolicyWords, r: ClauseResult) -> str:
    """An eligible clause's amount as the sheet says it: a ceiling (up_to) is 最高 …，具体由主管部门核定."""
    if r.clause.up_to and r.amount:
        return w.t("ceiling.amount", amount=w.money(r.amount))
    return w.money(r.amount)


def _clause_text(w: PolicyWords, r: ClauseResult) -> list[str]:
    policy = w.policy
    colon = w.t("colon")
    out = [heading(w, r)]
    if r.outcome is not Outcome.ELIGIBLE and (r.why is not None or r.reference is not None):
        out.append(f"    {reason_text(w, r)}")
    steps = r.steps
    if r.outcome is Outcome.ELIGIBLE and steps and isinstance(steps[-1], ZeroStep):
        out.extend(f"    {line}" for line in steps[-1].lines(w))  # why nothing is paid, where a reason goes
        steps = steps[:-1]
    own = [c for c, cond in zip(r.conditions, r.clause.conditions, strict=False) if not cond.shared]
    shared = [c for c, cond in zip(r.conditions, r.clause.conditions, strict=False) if cond.shared]
    if any(c.status != "met" for c in shared):  # said once at the head; here only when it decides the clause
        out.append(f"    {w.t('sec.shared_failed')}{colon}" + "；".join(c.label or c.text for c in shared
                                                                      if c.status != "met"))
    if own:
        out.append(f"    {w.t('sec.conditions')}{colon.rstrip()}")
        out.extend(f"      {condition_text(w, c)}" for c in own)
    if steps:
        out.append(f"    {w.t('sec.calculation')}{colon.rstrip()}")
        for step in steps:
            out.extend(f"      {line}" for line in step.lines(w))
    if r.hop is not None:
        hop = r.hop
        out.append(f"    {w.t('hop.head', title=hop.title, document=hop.document, clause=hop.result.clause.id)}{colon}")
        out.extend("      " + line for line in _clause_text(PolicyWords(hop.policy, w.lang), hop.result))
    shown = r.why.what if isinstance(r.why, CannotCompute) else None  # the reason above words that one
    facts = [m for m in r.missing if m != shown]
    if facts:
        out.append(f"    {w.t('sec.missing')}{colon}" + "；".join(w.missing(m) for m in facts))
    if policy.pools and r.outcome is Outcome.ELIGIBLE:
        out.extend(f"    {line}" for line in pool_lines(w, r.clause.id))
    readings = [x for x in r.clause.readings if x in policy.readings]
    if readings:
        out.append(f"    {w.t('reading')}{colon}" + "；".join(f"{x} {policy.readings[x].choice.rstrip('。')}"
                                                          for x in readings))
    return out


def _shared_text(w: PolicyWords, result: Result) -> list[str]:
    """The policy's shared conditions (申报条件), each shown once, as the first clause that has it found it."""
    if not w.policy.conditions:
        return []
    found: dict[int, ConditionResult] = {}
    for r in result.clauses:
        for c, cond in zip(r.conditions, r.clause.conditions, strict=False):
            if cond.shared:
                found.setdefault(w.policy.conditions.index(cond), c)
    if not found:
        return []
    lines = [w.t("sec.shared") + w.t("colon").rstrip()]
    lines.extend(f"  {condition_text(w, found[i])}" for i in sorted(found))
    lines.append("")
    return lines


def _window_text(w: PolicyWords, result: Result) -> list[str]:
    """支持时间: the days each figure is counted over (counted_over:), said once at the head, for the public."""
    lines = window_lines(w, result)
    if not lines:
        return []
    return [w.t("sec.windows") + w.t("colon").rstrip(), *("  " + line for line in lines), ""]


def window_lines(w: PolicyWords, result: Result) -> list[str]:
    """One line per fact counted over a window: 独立站建设费用：按 2022-01-01 至 2022-12-31 发生的计（原文：…）."""
    policy = result.policy
    year = result.applicant.values.get(policy.fund_year) if policy.fund_year else None
    lines = []
    for fact in policy.facts.values():
        if fact.window is None:
            continue
        window = fact.window
        assert window is not None
        if window.fund_year:
            days = window.days(year)
            said = w.t("window.fund_year", year=days[0].year) if days and days[0] \
                else w.t("window.fund_year_unknown")
        else:
            said = str(localize(window_words(window.start, window.end), w.lang))
        if window.text:
            lines.append(w.t("window.line.text", label=fact.label, window=said, text=window.text))
        else:
            lines.append(w.t("window.line", label=fact.label, window=said))
    return lines


def pool_lines(w: PolicyWords, clause_id: str) -> list[str]:
    """That the clause is paid from a budget pool the round shares: a single evaluation shows the claim."""
    from engine.model.pools import pool_of

    pool = pool_of(w.policy.pools, clause_id)
    if pool is None:
        return []
    facts = w.policy.facts
    fact = facts.get(pool.order_by) if pool.order_by is not None else None
    order = fact.label if fact is not None else w.t("pool.claim_date")
    share = w.t("pool.share.pro_rata") if pool.share == "pro_rata" else w.t("pool.share.in_order", order=order)
    lines = [w.t("pool.applies", pool=pool.title, total=w.money(pool.total), share=share)]
    if pool.reading is not None and pool.reading in w.policy.readings:
        choice = w.policy.readings[pool.reading].choice.rstrip("。")
        lines.append(f"{w.t('reading')}{w.t('colon')}{pool.reading} {choice}")
    return lines


def condition_detail(w: PolicyWords, c: ConditionResult) -> str:
    """What a condition read and compared, in `w`'s words: the one wording of both the text sheet and the people's
    HTML sheet (engine.present.sheet_html), which differ only in the methods `w` gives."""
    if c.derived:  # 同比增幅 25.00%（= (gmv - gmv_before) / gmv_before）> 10%：上年成交额 = …
        detail = "；".join(f"{w.label(name)} {w.value(name, value)}（= {w.formula(w.policy.derived[name].expr)}）"
                          for name, value in c.derived)
        if c.comparison is not None and len(c.derived) == 1:
            kind, unit, _l = w.kind(c.derived[0][0])
            detail += f" {c.comparison[1]} {show(c.comparison[2], kind, unit, w.lang)}"
        if c.reads:
            detail += w.t("colon") + "，".join(w.reading(n, v, derived=True) for n, v in c.reads)
        return detail
    if c.comparison is not None and len(c.reads) == 1:
        left, symbol, right = c.comparison
        kind, unit, flabel = w.kind(c.reads[0][0])
        return f"{flabel} {show(left, kind, unit, w.lang)} {symbol} {show(right, kind, unit, w.lang)}"
    if w.brief_yes_no and len(c.reads) == 1 and isinstance(c.reads[0][1], bool) and c.label:
        return w.value(*c.reads[0])  # 在相关系统备案：是
    detail = "，".join(w.reading(n, v) for n, v in c.reads)
    if c.comparison is not None and all(isinstance(side, dt.date) for side in c.comparison[::2]):
        # two dates, one computed (years_after(settled_on, 1)): the days compared, 2025-02-28 ≤ 2025-02-28
        left, symbol, right = c.comparison
        detail += w.t("cond.dates_compared", left=str(left), symbol=symbol, right=str(right))
    return detail


def condition_text(w: PolicyWords, c: ConditionResult) -> str:
    text = f"{w.t(STATUS_KEYS[c.status])} {c.label or c.text}{w.t('colon')}{condition_detail(w, c)}"
    facts = [m.key for m in c.missing if not isinstance(m, NotComputable)]
    if facts:
        text += "  " + w.t("cond.missing", names=", ".join(facts))
    if len(facts) < len(c.missing):
        text += "  " + w.t("cond.cannot_compute")
    return text


def reason_text(w: PolicyWords, r: ClauseResult) -> str:
    """Why the clause has its outcome, in one sentence (empty for a plainly eligible clause)."""
    if r.outcome is Outcome.REFERRED and r.reference is not None and r.hop is None:
        return w.t("reason.referred", title=r.reference.title, document=r.reference.id)
    if isinstance(r.why, Followed) and r.hop is not None:
        return w.t("reason.followed", title=r.hop.title, document=r.hop.document, clause=r.hop.result.clause.id,
                   outcome=w.t(OUTCOME_KEYS[r.hop.result.outcome]))
    return r.why.text(w) if r.why is not None else ""


def total_lines(w: PolicyWords, result: Result) -> list[str]:
    """The total and what it waits for, in `w`'s words: the one wording of both the text sheet and the people's
    HTML sheet (engine.present.sheet_html), which differ only in the methods `w` gives."""
    amount = format_money(result.total)
    lines = []
    if result.complete:
        lines.append(w.t("total.complete", amount=amount))
    else:
        ids = result.undetermined
        lines.append(w.t("total.partial", amount=amount, count=len(ids), ids="、".join(ids)))
        missing = by_key(m for r in result.clauses if r.outcome is Outcome.UNDETERMINED for m in r.missing)
        apart = [m for m in missing if w.cannot_compute_apart and isinstance(m, NotComputable)]
        facts = [m for m in missing if m not in apart]
        if facts:
            lines.append(w.t("total.needs", items="；".join(w.missing(m) for m in facts)))
        if apart:
            lines.append(w.t("total.cannot_compute", items="；".join(w.missing(m) for m in apart)))
    referred = [r for r in result.clauses if r.outcome is Outcome.REFERRED and r.reference is not None]
    if referred:
        lines.append(w.t("total.referred", items="；".join(f"{r.clause.id} → {r.reference.id}" for r in referred
                                                         if r.reference is not None)))
    return lines
