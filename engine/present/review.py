"""Render a compiled Policy for review by people who never open YAML: Markdown, or one self-contained HTML page."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Mapping

from engine.core.amounts import CURRENCIES
from engine.core.format import as_written
from engine.core.messages import t
from engine.lang.expressions import Expr
from engine.lang.tree import Arith, Call, Choices, Compare, IfElse, Lit, Logic, Name, Node, Unary
from engine.model.facts import names_of_clause
from engine.model.policy import Alternative, Clause, DatedValue, Fact, Group, Parameter, Policy
from engine.present.words import PolicyWords
from engine.runtime.trace import PERIOD_KEYS, PICK_KEYS, ROUNDING_KEYS

if TYPE_CHECKING:
    import jinja2


_FUNCTION_KEYS = {"min": "review.min", "max": "review.max", "abs": "review.abs"}
_AFTER_KEYS = {"days_after": "review.days_after", "months_after": "review.months_after",
               "years_after": "review.years_after"}
# A clause of a group up to this size lists the other members beside its rule; in a larger group it names the
# group once and links to its entry, which lists the members (otherwise the page grows with the square of it).
SMALL_GROUP = 8
_READING_AT_KEYS = {"fund_year": "review.reading_at.fund_year", "in_force": "review.reading_at.in_force",
                    "jurisdiction": "review.reading_at.jurisdiction"}
_ROLE_KEYS = {"rules": "review.role.rules", "standard": "review.role.standard", "basis": "review.role.basis"}


def show_value(value: Decimal, kind: str | None, unit: str | None = None) -> str:
    """A value of a fact or parameter of `kind` (money | percent | number …) with its unit, as written."""
    return as_written(value, kind, unit)


# YAML folded text (>-) turns each line break into a space, which Chinese prose does not have.
_CJK_GAP = re.compile(r"(?<=[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef])\s+(?=[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef])")


def source_text(text: str) -> str:
    """The clause's source sentence on one line, without the spaces line folding put between Chinese characters."""
    return _CJK_GAP.sub("", " ".join(text.split()))


# --- expressions in words --------------------------------------------------------------------------

# Python's precedence, so brackets appear in the words exactly where the expression needs them.
_PREC_OR, _PREC_AND, _PREC_NOT, _PREC_CMP, _PREC_ADD, _PREC_MUL, _PREC_UNARY, _PREC_ATOM = range(1, 9)
_CMP = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "!=": "≠"}
_MEMBERSHIP_KEYS = {"in": "review.in", "not in": "review.not_in"}
_ARITH = {"+": ("+", _PREC_ADD), "-": ("−", _PREC_ADD), "*": ("×", _PREC_MUL), "/": ("÷", _PREC_MUL)}

Hint = tuple[str | None, str | None]  # (kind, unit) a literal is shown in: 50% for a percent, 500万元 for money


class _Words:
    """Turns an expression tree into the words a reviewer reads: labels for names, ≥ for >=, 万元 for 10000."""

    def __init__(self, policy: Policy, lang: str, item_fields: str | None = None):
        self.policy, self.lang = policy, lang
        listed = policy.facts.get(item_fields) if item_fields is not None else None
        self.fields: Mapping[str, Fact] = listed.items if listed is not None else {}

    def kind(self, node: Node) -> Hint:
        """(type, unit) of what `node` computes, where a name tells us; used to show literals beside it."""
        if isinstance(node, Name):
            fact = self.fields.get(node.id) or self.policy.facts.get(node.id)
            if fact is not None:
                return fact.kind.measure, fact.kind.shown_unit(fact)
            param = self.policy.parameters.get(node.id)
            if param is not None:
                return param.type, CURRENCIES[param.currency] if param.currency else param.unit
        if isinstance(node, Arith) and node.op in ("+", "-"):
            left = self.kind(node.left)
            return left if left[0] else self.kind(node.right)
        if isinstance(node, Call) and node.args:
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

    def words(self, node: Node, hint: Hint = (None, None)) -> tuple[str, int]:  # one dispatch
        lang = self.lang
        if isinstance(node, Name):
            return self.name(node.id), _PREC_ATOM
        if isinstance(node, Lit):
            value = node.value
            if isinstance(value, bool):
                return t("yes" if value else "no", lang), _PREC_ATOM
            if isinstance(value, Decimal):
                return show_value(value, *hint), _PREC_ATOM
            if isinstance(value, dt.date):
                return value.isoformat(), _PREC_ATOM
            return f"“{value}”", _PREC_ATOM
        if isinstance(node, Choices):
            shown = t("review.list_sep", lang).join(self.words(item, hint)[0] for item in node.items)
            return f"〔{shown}〕", _PREC_ATOM
        if isinstance(node, Logic):
            prec = _PREC_AND if node.op == "and" else _PREC_OR
            joiner = f" {t('review.and' if prec == _PREC_AND else 'review.or', lang)} "
            return joiner.join(self.wrap(v, prec + 1) for v in node.values), prec
        if isinstance(node, Unary):
            if node.op == "not":
                return f"{t('review.not', lang)} {self.wrap(node.operand, _PREC_NOT)}", _PREC_NOT
            sign = "−" if node.op == "-" else "+"
            return sign + self.wrap(node.operand, _PREC_UNARY, hint), _PREC_UNARY
        if isinstance(node, Arith):
            symbol, prec = _ARITH[node.op]
            # Sums share a kind (money + money); a product's literals are plain factors.
            side_hint: Hint = (None, None)
            if prec == _PREC_ADD:
                side_hint = self.kind(node) if self.kind(node)[0] else hint
            left = self.wrap(node.left, prec, side_hint)
            right = self.wrap(node.right, prec + 1, side_hint)  # a − (b − c) keeps its brackets
            return f"{left} {symbol} {right}", prec
        if isinstance(node, Compare):
            parts: list[str] = []
            left_node = node.left
            for op, right_node in zip(node.ops, node.rights, strict=True):
                if not parts:
                    parts.append(self.wrap(left_node, _PREC_CMP + 1, self.kind(right_node)))
                if op in _MEMBERSHIP_KEYS:  # the list, its items shown as what is looked up in it
                    parts.append(f"{t(_MEMBERSHIP_KEYS[op], lang)} {self.words(right_node, self.kind(left_node))[0]}")
                else:
                    parts.append(f"{_CMP[op]} {self.wrap(right_node, _PREC_CMP + 1, self.kind(left_node))}")
                left_node = right_node
            return " ".join(parts), _PREC_CMP
        if isinstance(node, IfElse):
            return t("review.if", lang, test=self.words(node.test)[0], body=self.words(node.body, hint)[0],
                     orelse=self.words(node.orelse, hint)[0]), _PREC_OR - 1
        if node.func in _AFTER_KEYS and len(node.args) == 2 and isinstance(node.args[1], Lit):
            # years_after(settled_on, 1): 落户日期满1年之日, the day the comparison is exact to
            return t(_AFTER_KEYS[node.func], lang, date=self.wrap(node.args[0], _PREC_ATOM),
                     count=self.words(node.args[1])[0]), _PREC_ATOM
        # A call: min, max or abs (a date('…') is already the date it names).
        args = "，".join(self.words(a, hint)[0] for a in node.args)
        label = t(_FUNCTION_KEYS[node.func], lang) if node.func in _FUNCTION_KEYS else node.func
        return f"{label}（{args}）", _PREC_ATOM

    def wrap(self, node: Node, floor: int, hint: Hint = (None, None)) -> str:
        text, prec = self.words(node, hint)
        return f"（{text}）" if prec < floor else text


def expr_words(policy: Policy, expr: Expr, lang: str, kind: str | None = None,
               item_fields: str | None = None) -> str:
    """An expression as a reviewer reads it: '年度跨境电商交易额 ≥ 500万元'. `kind` shows a bare literal (50%)."""
    unit = None
    dim = expr.dim
    if kind == "money" and dim is not None and dim.kind == "money" and dim.detail != policy.money.currency:
        unit = CURRENCIES.get(dim.detail)  # a literal in 美元 stays in 美元
    return _Words(policy, lang, item_fields).words(expr.node, (kind, unit))[0]


def node_words(policy: Policy, node: Node, lang: str) -> str:
    """An expression's tree in words (a step keeps the tree of the base it worked out)."""
    return _Words(policy, lang).words(node)[0]


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
    """One line of an encoded rule: the words, an optional second form (the expression), reading tags, and the
    group whose entry the words stand for (a large group, named instead of listing its members)."""

    text: str
    detail: str | None = None
    tags: tuple[str, ...] = ()
    group: str | None = None


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
    heading: str | None = None  # the document's own heading of the article, quoted


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
    alternatives: tuple[str, ...]  # each: the other reading, and what changes under it
    used_by: tuple[str, ...]  # clause ids
    groups: tuple[str, ...]  # group ids
    why: str | None = None
    elsewhere: tuple[str, ...] = ()  # other places it takes effect: the fund year, the period of force, the areas


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
    # Per entry of `groups`: the group's id when clauses link to its entry (a large group), else None.
    group_anchors: tuple[str | None, ...] = ()


class _ReviewWords(PolicyWords):
    """Award forms describe themselves with expressions in plain words (expr_words)."""

    def expr(self, expr: Expr, kind: str | None = None, item_fields: str | None = None) -> str:
        return expr_words(self.policy, expr, self.lang, kind, item_fields=item_fields)


def _award_items(policy: Policy, clause: Clause, lang: str) -> list[Entry]:
    if clause.award is None:
        return []
    lines = clause.award.describe(_ReviewWords(policy, lang))
    if clause.up_to and not clause.award.ceiling():  # tiers say it on each band already
        lines += (t("ceiling.review", lang),)
    return [Entry(t("review.amount", lang), tuple(Item(line) for line in lines))]


def _clause_view(policy: Policy, clause: Clause, lang: str,
                 groups: tuple[tuple[Group, int], ...] = ()) -> ClauseView:
    """The clause's entries; `groups` are the groups it is a member of, each with how many others it has."""
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
    own_conditions = [c for c in clause.conditions if not c.shared]
    if len(own_conditions) < len(clause.conditions):
        entries.append(Entry(t("review.shared_conditions", lang), (Item(t("review.shared_conditions.all", lang)),)))
    if own_conditions:
        conditions = []
        for c in own_conditions:
            spelled = expr_words(policy, c.expr, lang)
            tags = (c.reading,) if c.reading else ()
            conditions.append(Item(c.label, spelled, tags) if c.label else Item(spelled, None, tags))
        entries.append(Entry(t("review.conditions", lang), tuple(conditions)))
    elif (clause.award is not None or clause.refers_to is not None) and not clause.conditions:
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
            period = t(PERIOD_KEYS[clause.period], lang)
            if clause.per is not None and clause.per in policy.facts:
                period += t("review.per", lang, label=policy.facts[clause.per].label, name=clause.per)
            entries.append(Entry(t("review.period", lang), (Item(period),)))
        if clause.offset is not None:  # 就高不重复 across programmes
            o = clause.offset
            what = expr_words(policy, o.amount, lang, "money")
            if o.label:
                what = t("review.offset.labelled", lang, label=o.label, amount=what)
            if o.source:
                deducted = t("review.offset.source", lang, what=what, source=o.source)
            else:
                deducted = t("review.offset", lang, what=what)
            entries.append(Entry(t("review.offset.head", lang), (Item(deducted),)))
    if clause.start or clause.end:
        entries.append(Entry(t("review.applies", lang), (Item(_range(clause.start, clause.end, lang)),)))
    stacking = []
    for group, count in groups:
        tags = (group.reading,) if group.reading else ()
        pick = t(PICK_KEYS[group.pick], lang)
        if len(group.members) > SMALL_GROUP:
            stacking.append(Item(t("review.with_group", lang, group=group.id, count=count, pick=pick), None, tags,
                                 group.id))
        else:
            others = sep.join(m for m in group.members if m != clause.id)
            stacking.append(Item(t("review.with", lang, others=others, pick=pick), None, tags))
    if stacking:
        entries.append(Entry(t("review.stacking", lang), tuple(stacking)))
    # Every reading the clause rests on (its own, its conditions', its groups'), beside its sentence: the choice
    # taken, and the other readings with what changes under them.
    rids = list(clause.readings) + [c.reading for c in clause.conditions if c.reading] + \
        [g.reading for g, _n in groups if g.reading]
    if rids:
        entries.append(Entry(t("review.readings", lang), tuple(
            _reading_item(policy, r, lang) for r in dict.fromkeys(rids))))
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


def _alternative(alt: Alternative, lang: str) -> str:
    return t("review.alternative_effect", lang, choice=alt.choice, effect=alt.effect) if alt.effect else alt.choice


def _reading_item(policy: Policy, rid: str, lang: str) -> Item:
    reading = policy.readings.get(rid)
    if reading is None:
        return Item(rid, None, (rid,))
    others = t("review.list_sep", lang).join(_alternative(a, lang) for a in reading.alternatives)
    text = reading.choice + (t("review.otherwise_after", lang, others=others) if others else "")
    return Item(text, None, (rid,))


_FUND_YEAR_RULE_KEYS = {"any_day": "review.fund_year.rule.any_day", "first_day": "review.fund_year.rule.first_day",
                        "last_day": "review.fund_year.rule.last_day", "every_day": "review.fund_year.rule.every_day"}


def _fund_years(policy: Policy, lang: str) -> str:
    """Which fund years the policy pays, and until when a year's claim may be filed (fund_year: in_force:,
    filing_months:), in words; '' when the file says neither."""
    out = ""
    if policy.fund_year_in_force is not None:
        first, last = policy.fund_years_paid()
        out += t("review.fund_year.paid", lang, first=first, last=last if last is not None else "…",
                 rule=t(_FUND_YEAR_RULE_KEYS[policy.fund_year_in_force], lang))
    if policy.filing_months is not None:
        out += t("review.fund_year.filing", lang, months=policy.filing_months)
    return out


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
    end = values[i].end
    if end is not None:
        return end.isoformat()
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
                                       rule=t(ROUNDING_KEYS[money.rounding], lang))
         + (t("review.rounding_practice", lang) if policy.money_source and policy.money_source[0] == "practice"
            else "")),
        (t("review.fund_year", lang),
         t("review.fund_year.fact", lang, label=policy.facts[policy.fund_year].label, name=policy.fund_year,
           reading=f"（{policy.fund_year_reading}）" if policy.fund_year_reading else "") + _fund_years(policy, lang)
         if policy.fund_year and policy.fund_year in policy.facts else t("review.fund_year.calendar", lang)),
        (t("review.policy_id", lang), policy.id),
    ) + tuple((t("review.currency", lang, code=c.code, word=c.word),
               t("review.currency.rate", lang, rate=c.rate) + (f"（{c.text}）" if c.text else "") if c.rate
               else c.text or "")
              for c in policy.currencies.values()) + tuple(
        (t("review.derived", lang, label=d.label), f"{d.name} = {expr_words(policy, d.expr, lang)}"
         + (f"（{d.text}）" if d.text else "")) for d in policy.derived.values()) + tuple(
        (t("review.shared_condition", lang, n=i + 1),
               (c.label or c.expr.text) + (f"（{c.text}）" if c.text else ""))
              for i, c in enumerate(policy.conditions))
    member_of: dict[str, list[tuple[Group, int]]] = {}  # per clause, its groups and how many others each has
    for group in policy.groups:
        for m, times in Counter(group.members).items():
            member_of.setdefault(m, []).append((group, len(group.members) - times))
    articles: dict[str | None, list[ClauseView]] = {}
    for clause in policy.clauses:
        articles.setdefault(clause.article, []).append(
            _clause_view(policy, clause, lang, tuple(member_of.get(clause.id, ()))))
    article_views = tuple(ArticleView(title or t("review.no_article", lang), tuple(views),
                                      policy.articles.get(title) if title else None)
                          for title, views in articles.items())

    # Ordered sets (dicts), so that a name every clause uses costs no more than one each uses.
    users: dict[str, dict[str, None]] = {}
    for clause in policy.clauses:
        for expr in clause.expressions():
            for name in sorted(expr.names):
                if name in policy.parameters:
                    users.setdefault(name, {})[clause.id] = None
    parameters = tuple(ParameterView(p.name, p.label, _value_rows(policy, p), tuple(users.get(p.name, ())))
                       for p in policy.parameters.values())

    reading_users: dict[str, dict[str, None]] = {}
    for clause in policy.clauses:
        for rid in list(clause.readings) + [c.reading for c in clause.conditions if c.reading]:
            reading_users.setdefault(rid, {})[clause.id] = None
    reading_groups: dict[str | None, list[str]] = {}
    for group in policy.groups:
        reading_groups.setdefault(group.reading, []).append(group.id)
    elsewhere: dict[str, list[str]] = {}
    places: tuple[tuple[str | None, str], ...] = ((policy.fund_year_reading, "fund_year"),
                                                  (policy.period_reading, "in_force"),
                                                  (policy.areas_reading, "jurisdiction"))
    for place_reading, where in places:
        if place_reading:
            elsewhere.setdefault(place_reading, []).append(t(_READING_AT_KEYS[where], lang))
    for pool in policy.pools:
        if pool.reading:
            elsewhere.setdefault(pool.reading, []).append(t("review.reading_at.pool", lang, pool=pool.title))
    readings = tuple(ReadingView(r.id, r.question, r.choice, tuple(_alternative(a, lang) for a in r.alternatives),
                                 tuple(reading_users.get(r.id, ())), tuple(reading_groups.get(r.id, ())), r.why,
                                 tuple(elsewhere.get(r.id, ())))
                     for r in policy.readings.values())

    groups = []
    C = t("review.colon", lang)
    titles = {c.id: c.title for c in reversed(policy.clauses)}  # the first clause of an id, as policy.clause
    for group in policy.groups:
        members = t("review.list_sep", lang).join(f"{m} {titles[m]}" if m in titles else m for m in group.members)
        line = f"{group.id}{C}{members} — {t(PICK_KEYS[group.pick], lang)}"
        if group.reading:
            line += f"（{group.reading}）"
        if group.note:
            line += f"。{group.note}"
        groups.append(line)

    referred_by: dict[str | None, list[str]] = {}
    for clause in policy.clauses:
        referred_by.setdefault(clause.refers_to, []).append(clause.id)
    references = tuple(
        (ref.id, ref.title, t(_ROLE_KEYS[ref.role], lang) if ref.role in _ROLE_KEYS else ref.role,
         ref.note, tuple(referred_by.get(ref.id, ())))
        for ref in policy.references.values())
    anchors = tuple(g.id if len(g.members) > SMALL_GROUP else None for g in policy.groups)
    return Review(t("review.heading", lang), policy.document, policy.title, header, article_views, parameters,
                  readings, tuple(groups), references, lang, anchors)


# --- rendering: templates in engine/present/templates, filled from the view model -------------------

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|#"})


def md(text: str) -> str:
    """User text made inert in Markdown: no emphasis, links, raw HTML or table breaks; one line."""
    return " ".join(text.split()).translate(_MD_SPECIAL)


def css_string(text: str) -> str:
    """`text` as a CSS string literal that cannot end the string or the <style> element.

    The one place user text goes into CSS (the printed page's running header): HTML escaping means nothing
    inside <style>, so every ASCII character that is not a letter, digit or harmless punctuation is a CSS escape.
    """
    escaped = "".join(ch if ch.isalnum() or ch in " -_.,:;()〔〕（）" or ord(ch) > 127 else f"\\{ord(ch):x} "
                      for ch in text)
    return f'"{escaped}"'


@functools.cache
def _environment() -> jinja2.Environment:
    """The template environment, made on first use: importing jinja2 is not paid by `policy evaluate`."""
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("engine.present", "templates"),
        # HTML is autoescaped; Markdown has its own escaping (the md filter); anything else is escaped too.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), disabled_extensions=("md.j2",),
                                            default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["md"] = md
    env.filters["source_text"] = source_text
    # A CSS string literal is safe inside <style> as it stands; HTML-escaping its quotes would break it.
    env.filters["css_string"] = lambda text: Markup(css_string(text))
    return env


def _render(template: str, policy: Policy, lang: str | None) -> str:
    r = build_review(policy, lang)

    def say(key: str, **values: object) -> str:
        return t(key, r.lang, **values)

    return _environment().get_template(template).render(
        r=r, lang=r.lang, t=say, sep=say("review.list_sep"), colon=say("review.colon"))


def render_markdown(policy: Policy, lang: str | None = None) -> str:
    """The policy as a Markdown review document: header, clauses beside their source, parameters, readings."""
    return _render("review.md.j2", policy, lang)


def render_html(policy: Policy, lang: str | None = None) -> str:
    """The policy as one self-contained HTML page (inline CSS, no scripts, fonts or network assets)."""
    return _render("review.html.j2", policy, lang)
