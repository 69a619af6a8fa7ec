"""Render a compiled Policy for review by people who never open YAML: Markdown, or one self-contained HTML page."""

from __future__ import annotations

import ast
import datetime as dt
import html
import re
from dataclasses import dataclass
from decimal import Decimal

from engine.model.facts import names_of_clause
from engine.core.amounts import format_percent, officer_money, officer_number
from engine.lang.expressions import Expr
from engine.core.messages import t
from engine.model.policy import (BonusAward, Clause, DatedValue, FixedAward, Parameter, PerItemAward, PerUnitAward, Policy,
                    RateAward)

def show_value(value: Decimal, kind: str | None, unit: str | None = None) -> str:
    """A value of a fact or parameter of `kind` (money | percent | number …) with its unit."""
    if kind == "money":
        return officer_money(value)
    if kind == "percent":
        return format_percent(value)
    return officer_number(value) + (unit or "")


# YAML folded text (>-) turns each line break into a space, which Chinese prose does not have.
_CJK_GAP = re.compile(r"(?<=[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef])\s+(?=[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef])")


def source_text(text: str) -> str:
    """The clause's source sentence on one line, without the spaces line folding put between Chinese characters."""
    return _CJK_GAP.sub("", " ".join(text.split()))


# --- expressions in words --------------------------------------------------------------------------

# Python's precedence, so brackets appear in the words exactly where the expression needs them.
_PREC_OR, _PREC_AND, _PREC_NOT, _PREC_CMP, _PREC_ADD, _PREC_MUL, _PREC_UNARY, _PREC_ATOM = range(1, 9)
_CMP = {ast.GtE: "≥", ast.LtE: "≤", ast.Gt: ">", ast.Lt: "<", ast.Eq: "=", ast.NotEq: "≠"}
_ARITH = {ast.Add: ("+", _PREC_ADD), ast.Sub: ("−", _PREC_ADD), ast.Mult: ("×", _PREC_MUL),
          ast.Div: ("÷", _PREC_MUL)}


class _Words:
    """Turns an expression tree into the words a reviewer reads: labels for names, ≥ for >=, 万元 for 10000."""

    def __init__(self, policy: Policy, lang: str, item_fields: str | None = None):
        self.policy, self.lang = policy, lang
        self.fields = policy.facts[item_fields].items if item_fields in policy.facts else {}

    def kind(self, node: ast.expr) -> tuple[str | None, str | None]:
        """(type, unit) of what `node` computes, where a name tells us; used to show literals beside it."""
        if isinstance(node, ast.Name):
            fact = self.fields.get(node.id) or self.policy.facts.get(node.id)
            if fact is not None:
                return fact.type, fact.unit
            param = self.policy.parameters.get(node.id)
            if param is not None:
                return param.type, param.unit
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            left = self.kind(node.left)
            return left if left[0] else self.kind(node.right)
        if isinstance(node, ast.Call) and node.args:
            return self.kind(node.args[0])
        return None, None

    def name(self, name: str) -> str:
        fact = self.fields.get(name) or self.policy.facts.get(name)
        if fact is not None:
            return fact.label
        param = self.policy.parameters.get(name)
        if param is not None:
            return parameter_value_words(param, self.lang)
        return name

    def words(self, node: ast.expr, hint: tuple[str | None, str | None] = (None, None)) -> tuple[str, int]:
        lang = self.lang
        if isinstance(node, ast.Name):
            return self.name(node.id), _PREC_ATOM
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool):
                return t("yes" if value else "no", lang), _PREC_ATOM
            if isinstance(value, Decimal):
                return show_value(value, *hint), _PREC_ATOM
            if isinstance(value, dt.date):
                return value.isoformat(), _PREC_ATOM
            return f"“{value}”", _PREC_ATOM
        if isinstance(node, ast.BoolOp):
            prec = _PREC_AND if isinstance(node.op, ast.And) else _PREC_OR
            joiner = f" {t('review.and' if prec == _PREC_AND else 'review.or', lang)} "
            return joiner.join(self.wrap(v, prec + 1) for v in node.values), prec
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return f"{t('review.not', lang)} {self.wrap(node.operand, _PREC_NOT)}", _PREC_NOT
            sign = "−" if isinstance(node.op, ast.USub) else "+"
            return sign + self.wrap(node.operand, _PREC_UNARY, hint), _PREC_UNARY
        if isinstance(node, ast.BinOp):
            symbol, prec = _ARITH[type(node.op)]
            # Sums share a kind (money + money); a product's literals are plain factors.
            side_hint = (None, None)
            if prec == _PREC_ADD:
                side_hint = self.kind(node) if self.kind(node)[0] else hint
            left = self.wrap(node.left, prec, side_hint)
            right = self.wrap(node.right, prec + 1, side_hint)  # a − (b − c) keeps its brackets
            return f"{left} {symbol} {right}", prec
        if isinstance(node, ast.Compare):
            parts = []
            left = node.left
            for op, right in zip(node.ops, node.comparators):
                if not parts:
                    parts.append(self.wrap(left, _PREC_CMP + 1, self.kind(right)))
                if isinstance(op, (ast.In, ast.NotIn)):
                    symbol = t("review.in" if isinstance(op, ast.In) else "review.not_in", lang)
                    elements = getattr(right, "elts", ())
                    shown = t("review.list_sep", lang).join(self.words(el, self.kind(left))[0] for el in elements)
                    parts.append(f"{symbol} 〔{shown}〕")
                else:
                    parts.append(f"{_CMP[type(op)]} {self.wrap(right, _PREC_CMP + 1, self.kind(left))}")
                left = right
            return " ".join(parts), _PREC_CMP
        if isinstance(node, ast.IfExp):
            return t("review.if", lang, test=self.words(node.test)[0], body=self.words(node.body, hint)[0],
                     orelse=self.words(node.orelse, hint)[0]), _PREC_OR - 1
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            args = "，".join(self.words(a, hint)[0] for a in node.args)
            if name == "date":
                return args, _PREC_ATOM
            label = t(f"review.{name}", lang) if name in ("min", "max", "abs") else name
            return f"{label}（{args}）", _PREC_ATOM
        return ast.unparse(node), _PREC_ATOM  # the checker admits nothing else; never hide what is there

    def wrap(self, node: ast.expr, floor: int, hint: tuple[str | None, str | None] = (None, None)) -> str:
        text, prec = self.words(node, hint)
        return f"（{text}）" if prec < floor else text


def expr_words(policy: Policy, expr: Expr, lang: str, kind: str | None = None,
               item_fields: str | None = None) -> str:
    """An expression as a reviewer reads it: '年度跨境电商交易额 ≥ 500万元'. `kind` shows a bare literal (50%)."""
    return _Words(policy, lang, item_fields).words(expr.tree, (kind, None))[0]


def parameter_value_words(param: Parameter, lang: str) -> str:
    """A parameter as it appears inside a rule: its value, and each later value with the date it starts."""
    if not param.values:
        return param.label
    first, *later = param.values
    text = show_value(first.value, param.type, param.unit)
    if later:
        changes = "；".join(t("review.from", lang, date=v.start.isoformat(),
                                value=show_value(v.value, param.type, param.unit)) for v in later)
        text += f"（{changes}）"
    return text


# --- the review as plain data, shared by both formats ----------------------------------------------

@dataclass(frozen=True)
class Item:
    """One line of an encoded rule: the words, an optional second form (the expression), reading tags."""

    text: str
    detail: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    heading: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class ClauseView:
    id: str
    title: str
    text: str | None
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class ArticleView:
    title: str
    clauses: tuple[ClauseView, ...]


@dataclass(frozen=True)
class ValueRow:
    start: str
    until: str
    value: str
    source: str


@dataclass(frozen=True)
class ParameterView:
    name: str
    label: str
    rows: tuple[ValueRow, ...]
    used_by: tuple[str, ...]


@dataclass(frozen=True)
class ReadingView:
    id: str
    question: str
    choice: str
    alternatives: tuple[str, ...]
    used_by: tuple[str, ...]  # clause ids
    groups: tuple[str, ...]  # group ids


@dataclass(frozen=True)
class Review:
    heading: str
    document: str
    title: str
    facts: tuple[tuple[str, str], ...]  # the header beyond number and title: (what, value)
    articles: tuple[ArticleView, ...]
    parameters: tuple[ParameterView, ...]
    readings: tuple[ReadingView, ...]
    groups: tuple[str, ...]
    references: tuple[tuple[str, str, str, str | None, tuple[str, ...]], ...]  # id, title, role, note, users
    lang: str


def _award_items(policy: Policy, clause: Clause, lang: str) -> list[Entry]:
    award = clause.award
    C = t("review.colon", lang)
    words = lambda expr, kind=None: expr_words(policy, expr, lang, kind)  # noqa: E731 - local shorthand
    if isinstance(award, RateAward):
        base = award.base_label or words(award.base, "money")
        items = [Item(f"{base} × {words(award.rate, 'percent')}")]
        spelled = words(award.base, "money")
        if award.base_label and spelled != award.base_label:
            items.append(Item(f"{t('review.base', lang)}{C}{spelled}"))
        return [Entry(t("review.amount", lang), tuple(items))]
    if isinstance(award, FixedAward):
        return [Entry(t("review.amount", lang), (Item(t("review.fixed", lang, amount=words(award.amount, "money"))),))]
    if isinstance(award, PerUnitAward):
        rate = words(award.rate) + ("" if award.rate.names else (award.unit or ""))
        text = f"{rate} × {words(award.quantity)} × {words(award.periods)}"
        bounds = []
        if award.max_periods is not None:
            bounds.append(t("review.per_unit.max", lang, max=words(award.max_periods)))
        if award.periods_used is not None:
            bounds.append(t("review.per_unit.used", lang, used=words(award.periods_used)))
        if bounds:
            text += "，" + "，".join(bounds)
        return [Entry(t("review.amount", lang), (Item(text),))]
    if isinstance(award, PerItemAward):
        item = award.item_label or policy.facts[award.items].label
        items = [Item(t("review.per_item", lang, item=item, each=words(award.each, "money")))]
        if award.where is not None:
            items.append(Item(f"{t('review.per_item.where', lang)}{C}"
                              + expr_words(policy, award.where, lang, item_fields=award.items)))
        return [Entry(t("review.amount", lang), tuple(items))]
    if isinstance(award, BonusAward):
        key = "review.bonus.raises_cap" if award.mode == "raises_cap" else "review.bonus.on_top"
        text = t(key, lang, to=award.to, amount=words(award.amount, "money"))
        return [Entry(t("review.amount", lang), (Item(text),))]
    return []


def _clause_view(policy: Policy, clause: Clause, lang: str) -> ClauseView:
    entries: list[Entry] = []
    sep = t("review.list_sep", lang)
    if clause.measure is not None:
        entries.append(Entry(t("review.measure", lang), (Item(clause.measure),)))
    if clause.recipients:
        who = sep.join(policy.recipients[r].label if r in policy.recipients else r for r in clause.recipients)
        entries.append(Entry(t("review.who", lang), (Item(who),)))
    if clause.requires:
        requires = t("reason.requires", lang, ids=sep.join(clause.requires))
        entries.append(Entry(t("review.requires", lang), (Item(requires),)))
    if clause.conditions:
        conditions = []
        for c in clause.conditions:
            spelled = expr_words(policy, c.expr, lang)
            tags = (c.reading,) if c.reading else ()
            conditions.append(Item(c.label, spelled, tags) if c.label else Item(spelled, None, tags))
        entries.append(Entry(t("review.conditions", lang), tuple(conditions)))
    elif clause.award is not None or clause.refers_to is not None:
        entries.append(Entry(t("review.conditions", lang), (Item(t("review.no_conditions", lang)),)))
    if clause.refers_to is not None:
        ref = policy.references.get(clause.refers_to)
        title = ref.title if ref else clause.refers_to
        entries.append(Entry(t("review.amount", lang),
                             (Item(t("reason.referred", lang, title=title, document=clause.refers_to)),)))
    entries += _award_items(policy, clause, lang)
    if clause.award is not None:
        cap = expr_words(policy, clause.cap, lang, "money") if clause.cap is not None else t("review.no_cap", lang)
        entries.append(Entry(t("review.cap", lang), (Item(cap),)))
        # Without a cap, "per claim" says nothing; "once" still does (a one-time award).
        if clause.cap is not None or clause.period != "claim":
            entries.append(Entry(t("review.period", lang), (Item(t(f"period.{clause.period}", lang)),)))
    if clause.start or clause.end:
        entries.append(Entry(t("review.applies", lang), (Item(_range(clause.start, clause.end, lang)),)))
    stacking = []
    for group in policy.groups:
        if clause.id in group.members:
            others = sep.join(m for m in group.members if m != clause.id)
            tags = (group.reading,) if group.reading else ()
            stacking.append(Item(t("review.with", lang, others=others, pick=t(f"pick.{group.pick}", lang)), None, tags))
    if stacking:
        entries.append(Entry(t("review.stacking", lang), tuple(stacking)))
    if clause.readings:
        entries.append(Entry(t("review.readings", lang), tuple(
            Item(policy.readings[r].choice if r in policy.readings else r, None, (r,)) for r in clause.readings)))
    if clause.note:
        entries.append(Entry(t("review.note", lang), (Item(clause.note),)))
    # A county that changes a number keeps the city's sentence beside it: say which numbers differ from it.
    changed = [policy.parameters[n] for n in sorted(names_of_clause(clause))
               if n in policy.parameters and clause.text and policy.parameters[n].where.file
               and policy.parameters[n].where.file != clause.where.file]
    if changed:
        entries.append(Entry(t("review.changed_numbers", lang), tuple(
            Item(t("review.changed_number", lang, label=p.label, value=parameter_value_words(p, lang),
                   file=p.where.file)) for p in changed)))
    return ClauseView(clause.id, clause.title, clause.text, tuple(entries))


def _range(start: dt.date | None, end: dt.date | None, lang: str) -> str:
    return t("review.range", lang, start=start.isoformat() if start else "…",
             end=end.isoformat() if end else t("review.open_end", lang))


def _value_rows(policy: Policy, param: Parameter) -> tuple[ValueRow, ...]:
    rows = []
    for i, value in enumerate(param.values):
        rows.append(ValueRow(value.start.isoformat(), _until(policy, param.values, i),
                             show_value(value.value, param.type, param.unit),
                             value.source or (param.text if len(param.values) == 1 else None) or ""))
    return tuple(rows)


def _until(policy: Policy, values: tuple[DatedValue, ...], i: int) -> str:
    """The last day a value is in force: its own end, else the day before the next one, else the policy's end."""
    if values[i].end is not None:
        return values[i].end.isoformat()
    if i + 1 < len(values):
        return (values[i + 1].start - dt.timedelta(days=1)).isoformat()
    return policy.end.isoformat() if policy.end else "…"


def build_review(policy: Policy, lang: str | None = None) -> Review:
    """Everything a reviewer checks, in reading order, as plain strings; both formats render this."""
    lang = lang or policy.language
    unset = t("review.unset", lang)
    money = policy.money
    header = (
        (t("review.issuer", lang), policy.issuer or unset),
        (t("review.signed", lang), policy.signed.isoformat() if policy.signed else unset),
        (t("review.in_force", lang), _range(policy.start, policy.end, lang)),
        (t("review.jurisdiction", lang), t("review.list_sep", lang).join(policy.areas) or unset),
        (t("review.rounding", lang), t("review.rounding_rule", lang, currency=money.currency,
                                       step=f"{money.round_to.normalize():f}",
                                       rule=t(f"rounding.{money.rounding}", lang))),
        (t("review.policy_id", lang), policy.id),
    )
    articles: dict[str | None, list[ClauseView]] = {}
    for clause in policy.clauses:
        articles.setdefault(clause.article, []).append(_clause_view(policy, clause, lang))
    article_views = tuple(ArticleView(title or t("review.no_article", lang), tuple(views))
                          for title, views in articles.items())

    users: dict[str, list[str]] = {}
    for clause in policy.clauses:
        for expr in clause.expressions():
            for name in sorted(expr.names):
                if name in policy.parameters and clause.id not in users.setdefault(name, []):
                    users[name].append(clause.id)
    parameters = tuple(ParameterView(p.name, p.label, _value_rows(policy, p), tuple(users.get(p.name, ())))
                       for p in policy.parameters.values())

    reading_users: dict[str, list[str]] = {}
    for clause in policy.clauses:
        for rid in list(clause.readings) + [c.reading for c in clause.conditions if c.reading]:
            if clause.id not in reading_users.setdefault(rid, []):
                reading_users[rid].append(clause.id)
    readings = tuple(ReadingView(r.id, r.question, r.choice, r.alternatives, tuple(reading_users.get(r.id, ())),
                                 tuple(g.id for g in policy.groups if g.reading == r.id))
                     for r in policy.readings.values())

    groups = []
    C = t("review.colon", lang)
    clause_ids = {c.id for c in policy.clauses}
    for group in policy.groups:
        members = t("review.list_sep", lang).join(f"{m} {policy.clause(m).title}" if m in clause_ids else m
                                                   for m in group.members)
        line = f"{group.id}{C}{members} — {t(f'pick.{group.pick}', lang)}"
        if group.reading:
            line += f"（{group.reading}）"
        if group.note:
            line += f"。{group.note}"
        groups.append(line)

    references = tuple(
        (ref.id, ref.title, t(f"review.role.{ref.role}", lang) if ref.role in ("rules", "basis") else ref.role,
         ref.note, tuple(c.id for c in policy.clauses if c.refers_to == ref.id))
        for ref in policy.references.values())
    return Review(t("review.heading", lang), policy.document, policy.title, header, article_views, parameters,
                  readings, tuple(groups), references, lang)


# --- Markdown --------------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|#"})


def md(text: str) -> str:
    """User text made inert in Markdown: no emphasis, links, raw HTML or table breaks; one line."""
    return " ".join(text.split()).translate(_MD_SPECIAL)


def _tags(tags: tuple[str, ...]) -> str:
    return "".join(f" 〔{tag}〕" for tag in tags)


def render_markdown(policy: Policy, lang: str | None = None) -> str:
    """The policy as a Markdown review document: header, clauses beside their source, parameters, readings."""
    r = build_review(policy, lang)
    lang = r.lang
    C = t("review.colon", lang)
    out = [f"# {md(r.document)} {md(r.title)}", "", f"*{md(r.heading)}* — {md(t('review.intro', lang))}", ""]
    facts = ((t("review.document", lang), r.document), (t("review.title", lang), r.title)) + r.facts
    out += ["| | |", "|---|---|"] + [f"| {md(k)} | {md(v)} |" for k, v in facts] + [""]
    for article in r.articles:
        out += [f"## {md(article.title)}", ""]
        for c in article.clauses:
            out += [f"### {md(c.id)} {md(c.title)}", ""]
            source = md(source_text(c.text)) if c.text else f"*{md(t('review.no_source', lang))}*"
            out += [f"> **{md(t('review.source', lang))}**{C}{source}", ""]
            for entry in c.entries:
                if len(entry.items) == 1 and entry.items[0].detail is None:
                    item = entry.items[0]
                    out.append(f"- **{md(entry.heading)}**{C}{md(item.text)}{_tags(item.tags)}")
                    continue
                out.append(f"- **{md(entry.heading)}**{C}".rstrip())
                for item in entry.items:
                    detail = f" — `{item.detail.replace('`', '')}`" if item.detail else ""
                    out.append(f"  - {md(item.text)}{detail}{_tags(item.tags)}")
            out.append("")
    out += [f"## {md(t('review.parameters', lang))}", "", md(t("review.parameters.intro", lang)), ""]
    cols = ("review.col.parameter", "review.col.from", "review.col.until", "review.col.value", "review.col.source",
            "review.col.used_by")
    out += ["| " + " | ".join(md(t(c, lang)) for c in cols) + " |", "|" + "---|" * len(cols)]
    for p in r.parameters:
        rows = p.rows or (ValueRow("", "", md(t("review.no_values", lang)), ""),)
        for i, row in enumerate(rows):
            first = i == 0
            out.append("| " + " | ".join((
                f"{md(p.label)} `{p.name}`" if first else "", row.start, row.until, md(row.value), md(row.source),
                t("review.list_sep", lang).join(md(u) for u in p.used_by) if first else "")) + " |")
    out.append("")
    out += [f"## {md(t('review.readings_section', lang))}", ""]
    for q in r.readings:
        out += [f"### {md(q.id)}", "", f"- **{md(t('review.question', lang))}**{C}{md(q.question)}",
                f"- **{md(t('review.choice', lang))}**{C}{md(q.choice)}"]
        for alt in q.alternatives:
            out.append(f"- **{md(t('review.alternatives', lang))}**{C}{md(alt)}")
        used = t("review.list_sep", lang).join([md(u) for u in q.used_by] + [
            md(t("review.group_ref", lang, id=g)) for g in q.groups]) or md(t("review.unused", lang))
        out += [f"- **{md(t('review.used_by', lang))}**{C}{used}", ""]
    out += [f"## {md(t('review.groups_section', lang))}", ""]
    out += [f"- {md(g)}" for g in r.groups] or [md(t("review.none", lang))]
    out += ["", f"## {md(t('review.references_section', lang))}", ""]
    for ref_id, title, role, note, users in r.references:
        line = f"- {md(ref_id)}《{md(title)}》— {md(role)}"
        if users:
            line += f"；{md(t('review.referred_by', lang))}{C}{t('review.list_sep', lang).join(md(u) for u in users)}"
        if note:
            line += f"。{md(note)}"
        out.append(line)
    if not r.references:
        out.append(md(t("review.none", lang)))
    return "\n".join(out) + "\n"


# --- HTML ------------------------------------------------------------------------------------------

def e(text: str) -> str:
    return html.escape(text, quote=True)


def css_string(text: str) -> str:
    """`text` as a CSS string literal that cannot end the string or the <style> element."""
    escaped = "".join(ch if ch.isalnum() or ch in " -_.,:;()〔〕（）" or ord(ch) > 127 else f"\\{ord(ch):x} "
                      for ch in text)
    return f'"{escaped}"'


# Inline and system fonts only: the page must open offline and print the same anywhere.
_CSS = """
:root { --ink:#1d2430; --muted:#5b6472; --line:#d9dee6; --soft:#f4f6f9; --accent:#1f5fa8; --tag:#8a4b08; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.65; font-size: 15px;
  font-family: system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
  "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Noto Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 64px; }
header.doc { border-bottom: 3px solid var(--accent); padding-bottom: 14px; margin-bottom: 8px; }
.kicker { color: var(--accent); font-weight: 600; letter-spacing: .04em; font-size: 13px; margin: 0; }
h1 { font-size: 24px; line-height: 1.35; margin: 4px 0 6px; }
.intro { color: var(--muted); margin: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 16px 0 0;
  font-size: 14px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
nav.toc { margin: 18px 0 6px; font-size: 14px; display: flex; flex-wrap: wrap; gap: 6px 10px; }
nav.toc a { color: var(--accent); text-decoration: none; border: 1px solid var(--line); border-radius: 4px;
  padding: 1px 8px; }
h2 { font-size: 20px; margin: 34px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.clause { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 16px; break-inside: avoid;
  page-break-inside: avoid; }
.clause > h3 { margin: 0; font-size: 16px; padding: 8px 14px; background: var(--soft);
  border-bottom: 1px solid var(--line); border-radius: 6px 6px 0 0; }
.cid { display: inline-block; min-width: 2.6em; color: var(--accent); font-variant-numeric: tabular-nums; }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.15fr); }
.cols > section { padding: 10px 14px 12px; min-width: 0; }
.cols > section + section { border-left: 1px solid var(--line); }
.colhead { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .06em; margin: 0 0 4px; }
.source .text { margin: 0; font-family: "Songti SC", "SimSun", "Noto Serif CJK SC", "Source Han Serif SC", serif;
  font-size: 15.5px; }
.missing { color: #a11; font-style: italic; }
dl.rule { margin: 0; display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 5px 12px;
  font-size: 14px; }
dl.rule dt { color: var(--muted); white-space: nowrap; }
dl.rule dd { margin: 0; }
dl.rule ul { margin: 0; padding-left: 1.1em; }
dl.rule li + li { margin-top: 3px; }
.expr { display: block; margin-top: 1px; padding: 1px 6px; background: #eef3fa; border-radius: 3px;
  color: #173c6b; width: fit-content; max-width: 100%; }
.tag { display: inline-block; margin-left: 6px; padding: 0 5px; font-size: 12px; color: var(--tag);
  border: 1px solid #e2c7a6; border-radius: 3px; line-height: 1.5; }
a.tag { text-decoration: none; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 5px 9px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td.num { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.value { white-space: nowrap; font-weight: 600; }
td.source { min-width: 12em; }
tbody.param { break-inside: avoid; }
tbody.changed td.value { color: var(--accent); }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Noto Sans Mono CJK SC", monospace;
  font-size: 12px; color: var(--muted); }
.reading { border-left: 3px solid #e2c7a6; padding: 4px 0 4px 12px; margin: 0 0 14px; break-inside: avoid; }
.reading h3 { margin: 0 0 2px; font-size: 15px; }
.reading dl { margin: 0; display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 14px; }
.reading dt { color: var(--muted); }
.reading dd { margin: 0; }
.unused { color: #a11; }
ul.plain { padding-left: 1.2em; }
@media screen and (max-width: 760px) {  /* paper keeps two columns: A4 is narrower than the breakpoint */
  main { padding: 16px 14px 40px; }
  .cols { grid-template-columns: 1fr; }
  .cols > section + section { border-left: 0; border-top: 1px dashed var(--line); }
  dl.facts, dl.rule, .reading dl { grid-template-columns: 1fr; gap: 0 0; }
  dl.rule dd, dl.facts dd, .reading dd { margin-bottom: 6px; }
  table { display: block; overflow-x: auto; }
}
@media print {
  @page { size: A4; margin: 18mm 14mm 16mm; }
  body { font-size: 9.5pt; line-height: 1.55; }
  main { max-width: none; padding: 0; }
  h1 { font-size: 16pt; }
  h2 { font-size: 13pt; margin: 16px 0 8px; }
  .cols { grid-template-columns: minmax(0, .9fr) minmax(0, 1.3fr); }
  .source .text { font-size: 10pt; }
  dl.rule { font-size: 9.5pt; gap: 3px 10px; }
  nav.toc { display: none; }
  .clause > h3, th, .expr { background: none; }
  .expr { padding: 0; }
  .clause, .reading, tbody.param { break-inside: avoid; page-break-inside: avoid; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  a { color: inherit; }
}
"""


def _items_html(entry: Entry) -> str:
    def one(item: Item) -> str:
        tags = "".join(f'<a class="tag" href="#reading-{e(tag)}">{e(tag)}</a>' for tag in item.tags)
        detail = f'<span class="expr">{e(item.detail)}</span>' if item.detail else ""
        return f"{e(item.text)}{tags}{detail}"

    if len(entry.items) == 1:
        return one(entry.items[0])
    return "<ul>" + "".join(f"<li>{one(item)}</li>" for item in entry.items) + "</ul>"


def render_html(policy: Policy, lang: str | None = None) -> str:
    """The policy as one self-contained HTML page (inline CSS, no scripts, fonts or network assets)."""
    r = build_review(policy, lang)
    lang = r.lang
    C = t("review.colon", lang)
    out: list[str] = []
    w = out.append
    # The running header on printed pages: Chromium draws @page margin boxes; the string is CSS-escaped.
    page_css = f"@media print {{ @page {{ @top-right {{ content: {css_string(r.document)}; font-size: 9pt; " \
               f"color: #555; }} @bottom-right {{ content: counter(page) \" / \" counter(pages); font-size: 9pt; " \
               f"color: #555; }} }} }}"
    w(f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}">\n<head>\n<meta charset="utf-8">\n'
      f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
      f"<title>{e(r.document)} {e(r.title)} — {e(r.heading)}</title>\n"
      f"<style>{_CSS}{page_css}</style>\n</head>\n<body>\n<main>\n")
    w(f'<header class="doc">\n<p class="kicker">{e(r.heading)}</p>\n<h1>{e(r.document)}<br>{e(r.title)}</h1>\n'
      f'<p class="intro">{e(t("review.intro", lang))}</p>\n<dl class="facts">\n')
    for key, value in r.facts:
        w(f"<dt>{e(key)}</dt><dd>{e(value)}</dd>\n")
    w("</dl>\n</header>\n")
    w('<nav class="toc">' + "".join(f'<a href="#article-{i}">{e(a.title)}</a>' for i, a in enumerate(r.articles, 1))
      + f'<a href="#parameters">{e(t("review.parameters", lang))}</a>'
      + f'<a href="#readings">{e(t("review.readings_section", lang))}</a></nav>\n')
    for i, article in enumerate(r.articles, 1):
        w(f'<section class="article" id="article-{i}">\n<h2>{e(article.title)}</h2>\n')
        for c in article.clauses:
            source = f'<p class="text">{e(source_text(c.text))}</p>' if c.text else \
                f'<p class="missing">{e(t("review.no_source", lang))}</p>'
            w(f'<article class="clause" id="clause-{e(c.id)}">\n'
              f'<h3><span class="cid">{e(c.id)}</span> {e(c.title)}</h3>\n<div class="cols">\n'
              f'<section class="source"><p class="colhead">{e(t("review.source", lang))}</p>{source}</section>\n'
              f'<section class="rule"><p class="colhead">{e(t("review.rule", lang))}</p><dl class="rule">\n')
            for entry in c.entries:
                w(f"<dt>{e(entry.heading)}</dt><dd>{_items_html(entry)}</dd>\n")
            w("</dl></section>\n</div>\n</article>\n")
        w("</section>\n")

    w(f'<section id="parameters">\n<h2>{e(t("review.parameters", lang))}</h2>\n'
      f'<p class="intro">{e(t("review.parameters.intro", lang))}</p>\n<table>\n<thead><tr>')
    for col in ("review.col.parameter", "review.col.from", "review.col.until", "review.col.value",
                "review.col.source", "review.col.used_by"):
        w(f"<th>{e(t(col, lang))}</th>")
    w("</tr></thead>\n")
    for p in r.parameters:
        rows = p.rows or (ValueRow("", "", t("review.no_values", lang), ""),)
        span = len(rows)
        changed = " changed" if span > 1 else ""
        w(f'<tbody class="param{changed}" id="param-{e(p.name)}">')
        for j, row in enumerate(rows):
            w("<tr>")
            if j == 0:
                w(f'<td rowspan="{span}">{e(p.label)}<br><code>{e(p.name)}</code></td>')
            w(f'<td class="num">{e(row.start)}</td><td class="num">{e(row.until)}</td>'
              f'<td class="value">{e(row.value)}</td><td class="source">{e(row.source)}</td>')
            if j == 0:
                links = t("review.list_sep", lang).join(f'<a href="#clause-{e(u)}">{e(u)}</a>' for u in p.used_by)
                w(f'<td rowspan="{span}">{links}</td>')
            w("</tr>")
        w("</tbody>\n")
    w("</table>\n</section>\n")

    w(f'<section id="readings">\n<h2>{e(t("review.readings_section", lang))}</h2>\n')
    for q in r.readings:
        w(f'<div class="reading" id="reading-{e(q.id)}"><h3>{e(q.id)}</h3><dl>'
          f'<dt>{e(t("review.question", lang))}</dt><dd>{e(q.question)}</dd>'
          f'<dt>{e(t("review.choice", lang))}</dt><dd><strong>{e(q.choice)}</strong></dd>')
        for alt in q.alternatives:
            w(f'<dt>{e(t("review.alternatives", lang))}</dt><dd>{e(alt)}</dd>')
        used = t("review.list_sep", lang).join([f'<a href="#clause-{e(u)}">{e(u)}</a>' for u in q.used_by] + [
            f'<a href="#groups">{e(t("review.group_ref", lang, id=g))}</a>' for g in q.groups]) or \
            f'<span class="unused">{e(t("review.unused", lang))}</span>'
        w(f'<dt>{e(t("review.used_by", lang))}</dt><dd>{used}</dd></dl></div>\n')
    w("</section>\n")

    w(f'<section id="groups">\n<h2>{e(t("review.groups_section", lang))}</h2>\n<ul class="plain">')
    w("".join(f"<li>{e(g)}</li>" for g in r.groups) or f"<li>{e(t('review.none', lang))}</li>")
    w("</ul>\n</section>\n")
    w(f'<section id="references">\n<h2>{e(t("review.references_section", lang))}</h2>\n<ul class="plain">')
    for ref_id, title, role, note, users in r.references:
        line = f"<strong>{e(ref_id)}</strong>《{e(title)}》— {e(role)}"
        if users:
            line += f"；{e(t('review.referred_by', lang))}{e(C)}" + t("review.list_sep", lang).join(
                f'<a href="#clause-{e(u)}">{e(u)}</a>' for u in users)
        if note:
            line += f"<br><span class=\"intro\">{e(note)}</span>"
        w(f"<li>{line}</li>")
    if not r.references:
        w(f"<li>{e(t('review.none', lang))}</li>")
    w("</ul>\n</section>\n</main>\n</body>\n</html>\n")
    return "".join(out)
