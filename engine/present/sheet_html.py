"""The calculation sheet for people: one HTML page (A4 when printed) shown by the form, written by a round's
--sheets and by `policy evaluate --format html|pdf`. Labels and words only: names and keys stay in the JSON."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping

from engine.core.messages import t
from engine.core.values import Missing, MissingField, MissingParameter
from engine.lang.tree import Lit, Name, working
from engine.model.awards.base import Step
from engine.model.awards.rate import BaseStep
from engine.model.outcome import Outcome
from engine.model.policy import Policy
from engine.present.review import expr_words, node_words
from engine.present.sheet import OUTCOME_KEYS, condition_detail, pool_lines, reason_text, total_lines, window_lines
from engine.present.words import PolicyWords
from engine.runtime.trace import (
    CannotCompute,
    ClauseResult,
    ConditionResult,
    MissingDocument,
    MissingGrant,
    MissingGrantYear,
    NotComputable,
    Result,
    TopUpStep,
    ZeroStep,
)

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup

_STATUS = {"met": "✓", "failed": "✗", "unknown": "?"}


class PeopleWords(PolicyWords):
    """The sheet's words: expressions in labels and symbols (expr_words), missing facts by their labels only."""

    def expr(self, expr: Any, kind: str | None = None, item_fields: str | None = None) -> str:
        return expr_words(self.policy, expr, self.lang, kind, item_fields=item_fields)

    brief_yes_no = True
    cannot_compute_apart = False  # PeopleWords.missing words them among the rest

    def formula(self, expr: Any) -> str:
        return self.expr(expr)

    def reading(self, name: str, value: object, derived: bool = False) -> str:
        return f"{self.label(name)} {self.value(name, value)}" if derived else \
            f"{self.label(name)}：{self.value(name, value)}"

    def missing(self, m: Missing) -> str:
        if m.key == "area":
            return self.t("sheet.missing.area")
        if isinstance(m, MissingDocument):
            return self.t("missing.document", document=m.document)
        if isinstance(m, MissingGrant):
            return self.t("sheet.missing.granted", clause=m.clause)
        if isinstance(m, MissingGrantYear):
            return self.t("sheet.missing.granted_year", clause=m.clause)
        if isinstance(m, NotComputable):
            return self.t("sheet.missing.cannot_compute", clause=m.clause)
        name = m.field if isinstance(m, MissingField) else m.name if isinstance(m, MissingParameter) else m.key
        try:
            return self.label(name)
        except KeyError:
            return name


# --- readings in words for the public --------------------------------------------------------------------

# An officer's reading often names the file's machinery: （platform-and-site 组 pick: all）, （claim_year）,
# （per 为 park_name）, "in_force 标为 assumed". For the public a fact's name becomes its label, and a bracketed part
# or a phrase (between ，；。) that still names something of the file is left out. Only for Chinese text: there a
# run of lowercase Latin letters is a name from the file, not a word.
_CODE = re.compile(r"(?<![A-Za-z0-9_])[a-z][a-z0-9]{2,}(?![A-Za-z0-9_])|[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)+"
                   r"|[a-z]+:\s*\S|为\s*[a-z_]+|[<>=]=")
_BRACKET = re.compile(r"[（(]([^（）()]*)[）)]")
_PART = re.compile(r"([，；,;])")
_NAME = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z_][A-Za-z0-9_]*(?![A-Za-z0-9_])")


def _kept(text: str) -> str:
    """`text` without its phrases that name the file's machinery (the separators of the phrases kept)."""
    pieces = _PART.split(text)
    phrases = [(pieces[i], pieces[i + 1] if i + 1 < len(pieces) else "") for i in range(0, len(pieces), 2)]
    kept = [(p, sep) for p, sep in phrases if p.strip() and not _CODE.search(p)]
    return "".join(p + sep for p, sep in kept).rstrip("，；,; ")


def public_text(text: str, policy: Policy) -> str:
    """`text` in words for the public: fact names as their labels, without what names the file's machinery."""
    text = re.sub(r"(?<=[\u3000-\u9fff\uff00-\uffef])\s+(?=[\u3000-\u9fff\uff00-\uffef])", "", " ".join(text.split()))
    facts = policy.all_facts()

    def name(match: re.Match[str]) -> str:
        found = facts.get(match.group(0))
        return found.label if found is not None else match.group(0)

    if policy.language != "zh":
        return _NAME.sub(name, text)

    def bracket(match: re.Match[str]) -> str:
        inner = _kept(match.group(1))
        return f"（{inner.strip()}）" if inner else ""

    text = _NAME.sub(name, _BRACKET.sub(bracket, text))
    sentences = [_kept(sentence) for sentence in text.split("。")]
    return "。".join(x for x in sentences if x) + ("。" if text.rstrip().endswith("。") else "")


# --- the view model ----------------------------------------------------------------------------------------

@dataclass
class SheetCondition:
    status: str  # met | failed | unknown
    mark: str
    text: str


@dataclass
class SheetClause:
    id: str
    article: str
    title: str
    outcome: str
    outcome_words: str
    amount: str
    reason: str
    conditions: list[SheetCondition] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    missing: str = ""
    pools: list[str] = field(default_factory=list)
    readings: list[str] = field(default_factory=list)


@dataclass
class SheetReading:
    id: str
    question: str
    choice: str


@dataclass
class Sheet:
    document: str
    title: str
    head: list[tuple[str, str, str]]  # (row key for tests and styles, label, value)
    notes: list[str]
    shared: list[SheetCondition]
    clauses: list[SheetClause]
    not_applicable: list[str]
    totals: list[str]
    readings: list[SheetReading]
    lang: str


def _condition(w: PeopleWords, c: ConditionResult, expr: Any) -> SheetCondition:
    label = c.label or (w.expr(expr) if expr is not None else c.text)
    if c.status == "unknown" and c.missing:  # what is missing is the whole story
        return SheetCondition(c.status, _STATUS[c.status], label + "（" + w.t(
            "cond.missing", names="、".join(w.missing(m) for m in c.missing)) + "）")
    detail = condition_detail(w, c)
    text = f"{label}{w.t('colon')}{detail}" if detail and detail != label else label
    if c.missing:
        text += "（" + w.t("cond.missing", names="、".join(w.missing(m) for m in c.missing)) + "）"
    return SheetCondition(c.status, _STATUS[c.status], text)


def _base(w: PeopleWords, step: BaseStep) -> str:
    words = node_words(w.policy, step.node, w.lang) if step.node is not None else step.expr
    detail = ""
    if step.node is not None and not isinstance(step.node, (Name, Lit)):
        values = dict(step.parts)
        detail = working(step.node, lambda n: w.value(n, values.get(n)), w.number) + " = "
    if step.label and step.label != words:
        return w.t("sheet.step.base.labelled", label=step.label, detail=detail, value=w.money(step.value))
    return w.t("sheet.step.base", expr=words, detail=detail, value=w.money(step.value))


def _step(w: PeopleWords, step: Step) -> list[str]:
    if isinstance(step, BaseStep):
        return [_base(w, step)]
    if isinstance(step, TopUpStep):
        paid = w.t("cli.list_sep").join(w.t("step.top_up.member", clause=c, amount=w.money(a)) for c, a in step.paid)
        return [w.t("sheet.step.top_up", paid=paid, before=w.money(step.before), after=w.money(step.after))]
    return step.lines(w)


def _clause(w: PeopleWords, r: ClauseResult, pools: Mapping[str, str]) -> SheetClause:
    c = r.clause
    policy = w.policy
    reason = reason_text(w, r) if r.outcome is not Outcome.ELIGIBLE or r.why is not None else ""
    steps = list(r.steps)
    if r.outcome is Outcome.ELIGIBLE and steps and isinstance(steps[-1], ZeroStep):
        reason = "；".join(steps[-1].lines(w))  # why nothing is paid
        steps = steps[:-1]
    own = [_condition(w, x, cond.expr) for x, cond in zip(r.conditions, c.conditions, strict=False) if not cond.shared]
    shared_failed = [x.label or x.text for x, cond in zip(r.conditions, c.conditions, strict=False)
                     if cond.shared and x.status != "met"]
    if shared_failed:
        reason = (reason + "；" if reason else "") + w.t("sec.shared_failed") + w.t("colon") + "；".join(shared_failed)
    lines = [line for step in steps for line in _step(w, step)]
    if r.hop is not None:
        hop_words = PeopleWords(r.hop.policy, w.lang)
        hop = _clause(hop_words, r.hop.result, {})
        lines.append(w.t("hop.head", title=r.hop.title, document=r.hop.document, clause=r.hop.result.clause.id)
                     + w.t("colon"))
        lines.extend(f"{x.mark} {x.text}" for x in hop.conditions)
        lines.extend(hop.steps)
    shown = r.why.what if isinstance(r.why, CannotCompute) else None
    missing = "；".join(w.missing(m) for m in r.missing if m != shown)
    pool = [pools[c.id]] if c.id in pools else pool_lines(w, c.id) if policy.pools and r.outcome is Outcome.ELIGIBLE \
        else []
    readings = [x for x in c.readings if x in policy.readings]
    return SheetClause(c.id, c.article or "", c.title, r.outcome.value, w.t(OUTCOME_KEYS[r.outcome]),
                       w.money(r.amount) if r.outcome is Outcome.ELIGIBLE else "", reason, own, lines, missing,
                       pool, readings)


def _totals(w: PeopleWords, result: Result, total: str | None) -> list[str]:
    pooled = [w.t("batch.html.pooled_total", amount=w.money(Decimal(total)))] \
        if total is not None and Decimal(total) != result.total else []
    return pooled + total_lines(w, result)


def sheet_model(result: Result, lang: str | None = None, code: str | None = None,
                pools: Mapping[str, str] | None = None, total: str | None = None) -> Sheet:
    """The sheet of a traced result. `code` is the applicant's credit code when known, `pools` each pooled
    clause's sentence of a round, `total` what the applicant is awarded once a round's pools are shared."""
    policy = result.policy
    lang = lang or policy.language
    w = PeopleWords(policy, lang)
    a = result.applicant
    head: list[tuple[str, str, str]] = []
    if code:
        head.append(("code", w.t("template.col.credit_code"), code))
    if a.name:
        head.append(("name", w.t("head.applicant"), a.name))
    head.append(("kind", w.t("head.kind"), "、".join(policy.recipients[k].label for k in a.recipients)))
    head.append(("area", w.t("head.area"), a.area or w.t("head.area_missing")))
    head.append(("date", w.t("head.date"), result.date.isoformat()))
    head.extend(("window", w.t("sec.windows"), line) for line in window_lines(w, result))  # 支持时间
    notes = []
    if policy.period_assumed:
        notes.append(w.t("sheet.period_assumed", start=policy.start.isoformat(),
                         end=policy.end.isoformat() if policy.end else "…"))
    shared: dict[int, SheetCondition] = {}
    for r in result.clauses:
        for x, cond in zip(r.conditions, r.clause.conditions, strict=False):
            if cond.shared:
                shared.setdefault(policy.conditions.index(cond), _condition(w, x, cond.expr))
    clauses, not_applicable = [], []
    for r in result.clauses:
        if r.outcome is Outcome.NOT_APPLICABLE:
            not_applicable.append(f"{r.clause.id} {r.clause.title}{w.t('colon')}{reason_text(w, r)}")
        else:
            clauses.append(_clause(w, r, pools or {}))
    used = list(dict.fromkeys(x for c in clauses for x in c.readings))
    readings = [SheetReading(x, public_text(policy.readings[x].question, policy),
                             public_text(policy.readings[x].choice, policy)) for x in used]
    return Sheet(policy.document, policy.title, head, notes, [shared[i] for i in sorted(shared)], clauses,
                 not_applicable, _totals(w, result, total), readings, lang)


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    # The stylesheet is CSS, not HTML: its quotes stay quotes (it holds only the catalogue's words).
    return jinja2.Environment(loader=jinja2.PackageLoader("engine.present", "templates"),
                              autoescape=lambda name: name is None or not name.endswith(".css.j2"),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def sheet_css(lang: str) -> Markup:
    """The sheet's stylesheet (the review page's look, the sheet's rules, A4 paper), for the sheet's page and for
    pages that show the sheet inside themselves (the form)."""
    from markupsafe import Markup

    def say(key: str, /, **values: Any) -> str:
        return t(key, lang, **values)

    return Markup(_environment().get_template("sheet.css.j2").render(t=say))


def render_sheet_html(result: Result, lang: str | None = None, code: str | None = None,
                      pools: Mapping[str, str] | None = None, total: str | None = None) -> str:
    """The sheet as one self-contained HTML page: its <article class="sheet"> is what the form shows."""
    model = sheet_model(result, lang, code, pools, total)

    def say(key: str, /, **values: Any) -> str:
        return t(key, model.lang, **values)

    return _environment().get_template("sheet.html.j2").render(s=model, t=say, css=sheet_css(model.lang))


def render_sheet_pdf(result: Result, lang: str | None = None, code: str | None = None) -> bytes:
    """The sheet as an A4 PDF, laid out by WeasyPrint from the same HTML and print stylesheet (no browser)."""
    import weasyprint

    html = render_sheet_html(result, lang, code)
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf
