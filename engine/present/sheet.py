"""Render a Result as a calculation sheet (text) or as JSON; pure functions returning strings."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from decimal import Decimal

from engine.core.amounts import format_money, format_number, format_percent, plain
from engine.runtime.evaluate import (ELIGIBLE, NOT_APPLICABLE, REFERRED, UNDETERMINED, ClauseResult,
                       ConditionResult, Result, Step)
from engine.lang.expressions import Unknown
from engine.core.messages import t
from engine.model.policy import Policy

RESULT_FORMAT = "policy-result/1"


# --- values as an officer reads them --------------------------------------------------------------

def _kind(policy: Policy, name: str) -> tuple[str, str | None, str]:
    """(type, unit, label) of a fact, list-item field or parameter."""
    facts = policy.all_facts()  # a followed reference may ask for another document's facts
    if name in facts:
        f = facts[name]
        return f.type, f.unit, f.label
    if name in policy.parameters:
        p = policy.parameters[name]
        return p.type, p.unit, p.label
    for f in facts.values():
        if name in f.items:
            item = f.items[name]
            return item.type, item.unit, item.label
    return "number", None, name


def show(value, kind: str = "number", unit: str | None = None, lang: str = "zh") -> str:
    if isinstance(value, Unknown) or value is None:
        return t("unknown_value", lang)
    if isinstance(value, bool):
        return t("yes" if value else "no", lang)
    if isinstance(value, Decimal):
        if kind == "money":
            return format_money(value)
        if kind == "percent":
            return format_percent(value)
        return format_number(value) + (unit or "")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return f"{len(value)} 项" if lang == "zh" else f"{len(value)} items"
    return str(value)


def show_name(policy: Policy, name: str, value, lang: str) -> str:
    kind, unit, _label = _kind(policy, name)
    return show(value, kind, unit, lang)


def missing_label(policy: Policy, name: str, lang: str) -> str:
    if name == "area":
        return t("missing.area", lang)
    if name.startswith("document:"):
        return t("missing.document", lang, document=name.removeprefix("document:"))
    if name.startswith("granted."):
        return t("missing.granted", lang, clause=name.removeprefix("granted."))
    base = name.split("[")[0]
    if "[" in name:
        field = name.rsplit(".", 1)[-1]
        return f"{_kind(policy, field)[2]} ({name})"
    return f"{_kind(policy, base)[2]} ({name})"


# --- text: the calculation sheet -------------------------------------------------------------------

def _colon(lang: str) -> str:
    return t("colon", lang)


def render_text(result: Result, lang: str | None = None) -> str:
    policy = result.policy
    lang = lang or policy.language
    a = result.applicant
    lines = [f"{policy.document}  {policy.title}"]
    kinds = "、".join(f"{policy.recipients[k].label} ({k})" for k in a.recipients)
    who = f"{t('head.applicant', lang)}{_colon(lang)}{a.name}  " if a.name else ""
    lines.append(f"{who}{t('head.kind', lang)}{_colon(lang)}{kinds}  {t('head.area', lang)}{_colon(lang)}{a.area or t('head.area_missing', lang)}"
                 f"  {t('head.date', lang)}{_colon(lang)}{result.date.isoformat()} ({t('date.' + result.date_source, lang)})")
    if policy.period_assumed:
        lines.append(t("head.period_assumed", lang, start=policy.start.isoformat(),
                       end=policy.end.isoformat() if policy.end else "…", reading=policy.period_reading or "-"))
    lines.append("=" * 72)
    not_applicable = []
    for r in result.clauses:
        if r.outcome == NOT_APPLICABLE:
            not_applicable.append(r)
            continue
        lines.extend(_clause_text(result, r, lang))
        lines.append("")
    if not_applicable:
        lines.append(t("sec.not_applicable", lang) + _colon(lang).rstrip())
        for r in not_applicable:
            lines.append(f"  {r.clause.id} {r.clause.title}{_colon(lang)}{reason_text(result, r, lang)}")
        lines.append("")
    lines.append("-" * 72)
    lines.extend(_total_text(result, lang))
    return "\n".join(lines) + "\n"


def _heading(r: ClauseResult, lang: str) -> str:
    c = r.clause
    article = f"{c.article} " if c.article else ""
    head = f"[{t('outcome.' + r.outcome, lang)}] {c.id} {article}{c.title}"
    if r.outcome == ELIGIBLE:
        head += f" —— {format_money(r.amount)}"
    return head


def _clause_text(result: Result, r: ClauseResult, lang: str) -> list[str]:
    policy = result.policy
    out = [_heading(r, lang)]
    if r.outcome != ELIGIBLE and (r.reason or r.reference):
        out.append(f"    {reason_text(result, r, lang)}")
    if r.conditions:
        out.append(f"    {t('sec.conditions', lang)}{_colon(lang).rstrip()}")
        out.extend(f"      {line}" for line in (condition_text(policy, c, lang) for c in r.conditions))
    if r.steps:
        out.append(f"    {t('sec.calculation', lang)}{_colon(lang).rstrip()}")
        for step in r.steps:
            out.extend(f"      {line}" for line in step_text(policy, step, lang))
    if r.hop is not None:
        hop = r.hop
        out.append(f"    {t('hop.head', lang, title=hop.title, document=hop.document, clause=hop.result.clause.id)}：")
        inner = _clause_text(replace(result, policy=hop.policy), hop.result, lang)
        out.extend("      " + line for line in inner)
    if r.missing:
        out.append(f"    {t('sec.missing', lang)}{_colon(lang)}" + "；".join(missing_label(policy, m, lang) for m in r.missing))
    readings = [x for x in r.clause.readings if x in policy.readings]
    if readings:
        out.append(f"    {t('reading', lang)}{_colon(lang)}" + "；".join(f"{x} {policy.readings[x].choice.rstrip('。')}"
                                                            for x in readings))
    return out


def condition_text(policy: Policy, c: ConditionResult, lang: str) -> str:
    mark = t("cond." + c.status, lang)
    label = c.label or c.text
    if c.comparison is not None and len(c.reads) == 1:
        name = c.reads[0][0]
        left, symbol, right = c.comparison
        kind, unit, flabel = _kind(policy, name)
        detail = f"{flabel} {show(left, kind, unit, lang)} {symbol} {show(right, kind, unit, lang)}"
    else:
        detail = "，".join(f"{_kind(policy, n)[2]} = {show_name(policy, n, v, lang)}" for n, v in c.reads)
    text = f"{mark} {label}{_colon(lang)}{detail}"
    if c.missing:
        text += "  " + t("cond.missing", lang, names=", ".join(c.missing))
    return text


def _money(value) -> str:
    return format_money(value) if isinstance(value, Decimal) else "?"


def step_text(policy: Policy, step: Step, lang: str) -> list[str]:
    d = step.data
    k = step.kind
    if k == "base":
        parts = d.get("parts", ())
        detail = ""
        if len(parts) > 1:
            detail = " + ".join(show_name(policy, n, v, lang) for n, v in parts) + " = "
        label = t("step.base.label", lang, label=d["label"]) if d.get("label") else ""
        return [t("step.base", lang, label=label, expr=d["expr"], detail=detail, value=_money(d["value"]))]
    if k == "rate":
        return [t("step.rate", lang, value=format_percent(d["value"]) if isinstance(d["value"], Decimal) else "?")]
    if k == "product":
        return [t("step.product", lang, base=_money(d["base"]), rate=format_percent(d["rate"]),
                  value=format_money(d["value"]))]
    if k == "fixed":
        return [t("step.fixed", lang, value=_money(d["value"]))]
    if k == "per_unit":
        if d.get("exhausted"):
            return [t("step.per_unit.bounded", lang, periods=show(d["periods"], lang=lang),
                      max_periods=show(d["max_periods"]), used=show(d["periods_used"]), paid="0")]
        lines = []
        if d.get("max_periods") is not None and "paid_periods" in d:
            lines.append(t("step.per_unit.bounded", lang, periods=show(d["periods"]), max_periods=show(d["max_periods"]),
                           used=show(d.get("periods_used") or Decimal(0)), paid=show(d["paid_periods"])))
        lines.append(t("step.per_unit", lang, rate=show(d["rate"]), unit=d.get("unit") or "",
                       quantity=show_name(policy, d["quantity_expr"], d["quantity"], lang),
                       periods=show(d.get("paid_periods", d["periods"])), value=_money(d.get("value"))))
        return lines
    if k == "items":
        lines = [t("step.items", lang, label=d.get("label") or d["list"], count=d.get("count", "?"),
                   each=_money(d["each"]), value=_money(d.get("value")))]
        for i, name, status, missing in d.get("items", ()):
            line = t("step.item", lang, n=i + 1, name=name or "", status=t("item." + status, lang))
            if missing:
                line += "  " + t("cond.missing", lang, names=", ".join(missing))
            lines.append(line)
        return lines
    if k == "bonus":
        return [t("step.bonus", lang, to=d["to"], value=_money(d["value"]))]
    if k == "raised_cap":
        return [t("step.raised_cap", lang, to=d["to"], bonus=_money(d["bonus"]), uncapped=_money(d["target_uncapped"]),
                  paid=_money(d["target_paid"]), value=_money(d["value"]))]
    if k == "negative":
        return [t("step.negative", lang, value=format_money(d["value"]))]
    if k == "round":
        return [t("step.round", lang, rule=t("rounding." + d["rule"], lang), step=plain(d["step"]),
                  before=format_money(d["before"]), after=format_money(d["after"]))]
    if k == "cap":
        lines = [t("step.cap", lang, cap=format_money(d["cap"]), period=t("period." + d["period"], lang),
                   granted=format_money(d["granted"]), remaining=format_money(d["remaining"]))]
        if d["after"] < d["before"]:
            lines.append(t("step.cap.bit", lang, before=format_money(d["before"]), after=format_money(d["after"]),
                           excess=format_money(d["before"] - d["after"])))
        else:
            lines.append(t("step.cap.free", lang))
        return lines
    if k == "group":
        return [t("step.group", lang, winner=d["winner"], pick=t("pick." + d["pick"], lang), reading=d.get("reading") or "-",
                  would_be=_money(d["would_be"]), winner_amount=_money(d["winner_amount"]))]
    return [f"{k}: {dict(d)}"]


def reason_text(result: Result, r: ClauseResult, lang: str) -> str:
    policy, d = result.policy, r.detail
    reason = r.reason
    if r.outcome == REFERRED and r.reference is not None and r.hop is None:
        return t("reason.referred", lang, title=r.reference.title, document=r.reference.id)
    if reason == "followed" and r.hop is not None:
        return t("reason.followed", lang, title=r.hop.title, document=r.hop.document, clause=r.hop.result.clause.id,
                 outcome=t("outcome." + r.hop.result.outcome, lang))
    if reason is None:
        return ""
    if reason == "recipient":
        return t("reason.recipient", lang, recipients="、".join(policy.recipients[k].label for k in d["recipients"]))
    if reason in ("policy_period", "clause_period"):
        return t("reason." + reason, lang, date=d["date"], start=d["start"] or "…", end=d["end"] or "…")
    if reason == "jurisdiction":
        text = t("reason.jurisdiction", lang, area=d["area"], areas="、".join(d["areas"]))
        if d.get("closest"):
            text += " " + t("reason.jurisdiction.closest", lang, closest=d["closest"])
        return text
    if reason == "requires":
        return t("reason.requires", lang, ids="、".join(d["requires"]))
    if reason in ("once_granted",):
        return t("reason.once_granted", lang, granted=format_money(d["granted"]))
    if reason == "cap_used":
        return t("reason.cap_used", lang, cap=format_money(d["cap"]), granted=format_money(d["granted"]))
    if reason == "periods_used":
        return t("reason.periods_used", lang, max_periods=show(d["max_periods"]), used=show(d["used"]))
    if reason == "group":
        return t("reason.group", lang, winner=d["winner"], pick=t("pick." + d["pick"], lang))
    if reason == "group_granted":
        return t("reason.group_granted", lang, holder=d["holder"], granted=format_money(d["granted"]))
    if reason == "group_pending":
        return t("reason.group_pending", lang, pending="、".join(d["pending"]), would_be=_money(d["would_be"]))
    if reason == "measure":
        return t("reason.measure", lang, measure=d["measure"])
    return t("reason." + reason, lang)


def _total_text(result: Result, lang: str) -> list[str]:
    amount = format_money(result.total)
    lines = []
    if result.complete:
        lines.append(t("total.complete", lang, amount=amount))
    else:
        ids = result.undetermined
        lines.append(t("total.partial", lang, amount=amount, count=len(ids), ids="、".join(ids)))
        missing = sorted({m for r in result.clauses if r.outcome == UNDETERMINED for m in r.missing})
        lines.append(t("total.needs", lang, items="；".join(missing_label(result.policy, m, lang) for m in missing)))
    referred = [r for r in result.clauses if r.outcome == REFERRED]
    if referred:
        lines.append(t("total.referred", lang, items="；".join(f"{r.clause.id} → {r.reference.id}" for r in referred)))
    return lines


# --- JSON ------------------------------------------------------------------------------------------

def _jsonable(value):
    if isinstance(value, Unknown):
        return None
    if isinstance(value, Decimal):
        return f"{value:f}"  # exact, never exponent form, never a float
    if isinstance(value, (dt.date,)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _clause_json(result: Result, r: ClauseResult, lang: str) -> dict:
    policy = result.policy
    c = r.clause
    out = {
        "id": c.id,
        "article": c.article,
        "title": c.title,
        "outcome": r.outcome,
        "amount": f"{r.amount:f}" if r.amount is not None else None,
        "reason": r.reason,
        "explanation": reason_text(result, r, lang) or None,
        "conditions": [{
            "expression": x.text, "label": x.label, "status": x.status,
            "values": {n: _jsonable(v) for n, v in x.reads},
            "missing": list(x.missing),
        } for x in r.conditions],
        "steps": [{"kind": s.kind, "text": "\n".join(step_text(policy, s, lang)),
                   "data": _jsonable({k: v for k, v in s.data.items()})} for s in r.steps],
        "missing": [{"name": m, "label": missing_label(policy, m, lang)} for m in r.missing],
        "refers_to": {"document": r.reference.id, "title": r.reference.title} if r.reference else None,
        "readings": list(c.readings),
        "followed": None,  # for a reference followed into another document's policy file: see below
    }
    if r.hop is not None:
        hop = r.hop
        out["followed"] = {"document": hop.document, "title": hop.title, "policy": hop.policy.id,
                           "clause": _clause_json(replace(result, policy=hop.policy), hop.result, lang)}
    return out


def result_to_json(result: Result, lang: str | None = None) -> dict:
    """The result as plain JSON data; amounts are strings of exact decimals ("75000.00")."""
    policy = result.policy
    lang = lang or policy.language
    a = result.applicant
    clauses = [_clause_json(result, r, lang) for r in result.clauses]
    return {
        "format": RESULT_FORMAT,
        "policy": {"id": policy.id, "document": policy.document, "title": policy.title,
                   "in_force": {"from": policy.start.isoformat(), "until": policy.end.isoformat() if policy.end else None,
                                "assumed": policy.period_assumed}},
        "applicant": {"name": a.name, "recipient": list(a.recipients), "area": a.area, "file": a.file},
        "date": result.date.isoformat(),
        "date_source": result.date_source,
        "clauses": clauses,
        "total": {
            "amount": f"{result.total:f}",
            "currency": policy.money.currency,
            "complete": result.complete,
            "undetermined": result.undetermined,
            "referred": result.referred,
        },
    }


def render_json(result: Result, lang: str | None = None) -> str:
    return json.dumps(result_to_json(result, lang), ensure_ascii=False, indent=2) + "\n"
