"""`policy diff … --format html`: the diff as one self-contained page, with who gains and who loses drawn (inline
SVG laid out here, no script, nothing fetched: it opens offline and prints), the change in outlay per clause, and
the lists and changes the text shows."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Iterable

from engine.core.format import format_money
from engine.core.messages import OUTCOME_KEYS, localize, t
from engine.model.outcome import Outcome
from engine.model.policy import Policy
from engine.tools.diff import _SECTION_KEYS, _VERSION_KEYS, SECTIONS, ApplicantImpact, Change, Impact

if TYPE_CHECKING:
    import jinja2

WIDTH = 760  # the drawing's width in px (it scales down with the page)
LABELS = 240  # the column of names left of the bars
ROW = 24  # one bar's row
MOST = 30  # bars drawn on each side of a chart; the rest are counted in its caption and listed below it
_ZERO = Decimal(0)
_PX = Decimal("0.1")


def _px(value: Decimal) -> str:
    return str(value.quantize(_PX, ROUND_HALF_UP))


def _signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + format_money(value)


def _short(text: str, most: int = 16) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


@dataclass(frozen=True)
class Bar:
    """One bar of a diverging chart, placed: gains right of the middle line, losses left of it; its amount is
    written on the empty side of the line, so no text runs into the names or another bar."""

    label: str
    full: str  # the whole name, as the bar's tooltip and for a screen reader
    kind: str  # gain | loss
    amount: str  # signed, as money
    y: int
    x: str
    width: str
    text_x: str
    anchor: str  # start | end


@dataclass(frozen=True)
class Chart:
    title: str
    caption: str
    height: int
    middle: str
    bars: tuple[Bar, ...]
    left: str  # what the left side means (losses)
    right: str  # (gains)


def _chart(title: str, caption: str, rows: list[tuple[str, str, Decimal]], left: str, right: str) -> Chart:
    """A diverging bar chart of (short label, full label, signed amount) rows, scaled to the largest amount."""
    half = Decimal(WIDTH - LABELS - 16) / 2
    middle = Decimal(LABELS + 8) + half
    largest = max((abs(v) for _s, _f, v in rows), default=_ZERO)
    bars = []
    for i, (short, full, value) in enumerate(rows):
        length = (abs(value) / largest * (half - 4)) if largest else _ZERO
        length = max(length, Decimal(1)) if value else _ZERO  # a fen is still drawn
        y = 28 + i * ROW
        gain = value > 0
        x = middle if gain else middle - length
        bars.append(Bar(short, full, "gain" if gain else "loss", _signed(value), y, _px(x), _px(length),
                        _px(middle - 4 if gain else middle + 4), "end" if gain else "start"))
    return Chart(title, caption, 28 + max(len(rows), 1) * ROW + 8, _px(middle), tuple(bars), left, right)


@dataclass
class ClauseOutlay:
    """What the new version pays more under one clause (and to how many), and less."""

    clause: str
    title: str
    gained: Decimal = _ZERO
    lost: Decimal = _ZERO  # negative
    gainers: int = 0
    losers: int = 0

    @property
    def net(self) -> Decimal:
        return self.gained + self.lost


def clause_outlays(result: Impact) -> list[ClauseOutlay]:
    """Per clause, what the new version pays more (to whom) and less (to whom) over the applicants compared; a
    clause the new version leaves undetermined is waiting for facts, never counted as paying less."""
    found: dict[str, ClauseOutlay] = {}
    for a in result.compared:
        for d in a.clauses:
            if d.new_outcome == Outcome.UNDETERMINED or not d.delta:
                continue
            entry = found.get(d.clause)
            if entry is None:
                entry = found[d.clause] = ClauseOutlay(d.clause, d.title)
            if d.delta > 0:
                entry.gained += d.delta
                entry.gainers += 1
            else:
                entry.lost += d.delta
                entry.losers += 1
    return list(found.values())


@dataclass(frozen=True)
class Page:
    lang: str
    title: str
    document: str
    changes: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (section, ((subject, sentence), …))
    summary: str
    impact: bool
    totals: tuple[tuple[str, str], ...]  # (what, figure)
    who: Chart | None
    clauses: Chart | None
    groups: tuple[tuple[str, tuple[tuple[str, str, str, tuple[str, ...]], ...]], ...]  # (label, rows)
    notes: tuple[str, ...]


def _change_lines(changes: list[Change], lang: str) -> Iterable[tuple[str, tuple[tuple[str, str], ...]]]:
    for section in SECTIONS:
        items = [c for c in changes if c.section == section]
        if not items:
            continue
        rows = []
        for c in items:
            head = f"{c.subject} {c.title or ''}".strip()
            what = localize(c.what, lang)
            if c.subject and c.old is None and c.new is None:
                rows.append((head, t("diff.whole", lang, head="", what=what).strip()))
            elif c.old is None:
                rows.append((head, t("diff.field_added", lang, what=what, new=localize(c.new, lang))))
            elif c.new is None:
                rows.append((head, t("diff.field_removed", lang, what=what, old=localize(c.old, lang))))
            else:
                rows.append((head, t("diff.field_changed", lang, what=what, old=localize(c.old, lang),
                                     new=localize(c.new, lang))))
        yield t(_SECTION_KEYS[section], lang).rstrip("：:"), tuple(rows)


def build_page(changes: list[Change], old_name: str, new_name: str, new: Policy, result: Impact | None,
               lang: str) -> Page:
    """What the page shows, laid out: its words in `lang`, its charts placed."""
    count = len(changes)
    summary = (t("diff.changes.one" if count == 1 else "diff.changes", lang, count=count) if count
               else t("diff.no_changes", lang))
    title = t("diff.head", lang, old=old_name, new=new_name)
    document = f"{new.document} {new.title}"
    lines = tuple(_change_lines(changes, lang))
    if result is None:
        return Page(lang, title, document, lines, summary, False, (), None, None, (), ())

    def outcome(o: str | None) -> str:
        return t(OUTCOME_KEYS[o], lang) if o else t("diff.none", lang)

    compared = result.compared
    waiting = [a for a in compared if a.needs]
    decided = [a for a in compared if not a.needs]
    gains = sorted((a for a in decided if a.delta > 0), key=lambda a: a.delta, reverse=True)
    losses = sorted((a for a in decided if a.delta < 0), key=lambda a: a.delta)
    moved = [a for a in decided if not a.delta and a.clauses]
    same = len(compared) - len(gains) - len(losses) - len(moved) - len(waiting)

    drawn = gains[:MOST] + losses[:MOST][::-1]
    rest = len(gains) - min(len(gains), MOST) + len(losses) - min(len(losses), MOST)
    caption = t("diff.html.who.caption", lang, gains=len(gains), losses=len(losses), same=same + len(moved),
                waiting=len(waiting))
    if rest:
        caption += " " + t("diff.html.more", lang, count=rest)
    who = _chart(t("diff.html.who", lang), caption, [(_short(a.name), a.name, a.delta) for a in drawn],
                 t("diff.loss", lang), t("diff.gain", lang)) if drawn else None

    outlays = clause_outlays(result)
    rows: list[tuple[str, str, Decimal]] = []
    for c in outlays:
        if c.gained:
            rows.append((t("diff.html.clause_gain", lang, clause=c.clause, count=c.gainers),
                         f"{c.clause} {c.title}", c.gained))
        if c.lost:
            rows.append((t("diff.html.clause_loss", lang, clause=c.clause, count=c.losers),
                         f"{c.clause} {c.title}", c.lost))
    clause_caption = t("diff.html.clauses.caption", lang, items="；".join(
        t("diff.html.clause_net", lang, clause=c.clause, net=_signed(c.net)) for c in outlays))
    clauses = _chart(t("diff.html.clauses", lang), clause_caption, rows, t("diff.loss", lang),
                     t("diff.gain", lang)) if rows else None

    def listed(group: list[ApplicantImpact]) -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
        out = []
        for a in group:
            assert a.old_total is not None and a.new_total is not None, "an applicant compared has both totals"
            lines = []
            for d in a.clauses:
                if d.new_outcome == Outcome.UNDETERMINED:
                    lines.append(t("diff.clause_pending", lang, clause=d.clause, title=d.title,
                                   old_outcome=outcome(d.old_outcome), old=format_money(d.old_amount),
                                   new_outcome=outcome(d.new_outcome)))
                else:
                    lines.append(t("diff.clause", lang, clause=d.clause, title=d.title,
                                   old_outcome=outcome(d.old_outcome), old=format_money(d.old_amount),
                                   new_outcome=outcome(d.new_outcome), new=format_money(d.new_amount),
                                   delta=_signed(d.delta)))
            figure = (t("diff.html.needs", lang, facts=", ".join(a.needs)) if a.needs else
                      f"{format_money(a.old_total)} → {format_money(a.new_total)}（{_signed(a.delta)}）")
            out.append((a.name, a.where, figure, tuple(lines)))
        return tuple(out)

    groups = tuple((label, listed(group)) for label, group in (
        (t("diff.gain", lang), gains), (t("diff.loss", lang), losses), (t("diff.changed_outcome", lang), moved),
        (t("diff.needs_new_facts", lang), waiting)) if group)
    notes = []
    if result.refused:
        notes.append(t("diff.refused", lang, count=result.refused))
    for a in result.applicants:
        if a.error is not None:
            version = a.error_version
            assert version is not None, "an applicant not compared names the version its facts do not fit"
            notes.append(t("diff.not_compared", lang, name=a.name, where=a.where,
                           version=t(_VERSION_KEYS[version], lang), message=a.error.format(lang)))
    on = t("diff.on", lang, day=result.on) if result.on else ""
    totals = (
        (t("diff.html.applicants", lang), t("diff.applicants", lang, count=len(result.applicants),
                                            where=result.where, on=on).rstrip("：:")),
        (t("diff.html.outlay", lang), f"{format_money(result.old_total)} → {format_money(result.new_total)}"
                                      f"（{_signed(result.new_total - result.old_total)}）"),
    )
    return Page(lang, title, document, lines, summary, True, totals, who, clauses, groups, tuple(notes))


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("engine.tools", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)


def render_html(changes: list[Change], old_name: str, new_name: str, new: Policy, result: Impact | None = None,
                lang: str | None = None) -> str:
    """The diff as one HTML page (lang None: the new policy's language)."""
    page = build_page(changes, old_name, new_name, new, result, lang or new.language)

    def say(key: str, /, **values: object) -> str:
        return t(key, page.lang, **values)

    return _environment().get_template("diff.html.j2").render(page=page, say=say, width=WIDTH, labels=LABELS)
