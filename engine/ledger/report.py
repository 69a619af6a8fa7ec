"""What the `policy ledger` commands print and export: pure wording of entries, verify and replay results,
and the export file (CSV or XLSX, whole or absent)."""

from __future__ import annotations

import csv
from decimal import Decimal
from typing import Any, Sequence

from engine.core.files import replace_when_done
from engine.core.format import format_money
from engine.core.messages import Message, localize, t
from engine.ledger.records import Entry
from engine.ledger.replay import Comparison, ReplayReport
from engine.ledger.store import summed_by_clause_and_year

# The export's columns: Entry's field, and its header's catalogue key, in order.
COLUMNS = {"id": "ledger.col.id", "kind": "ledger.col.kind", "round": "ledger.col.round",
           "decision": "ledger.col.decision", "recipient": "ledger.col.recipient", "policy_id": "ledger.col.policy",
           "clause": "ledger.col.clause", "counts": "ledger.col.counts", "year": "ledger.col.year",
           "object": "ledger.col.object", "amount": "ledger.col.amount", "corrects": "ledger.col.corrects",
           "reason": "ledger.col.reason", "by": "ledger.col.by", "at": "ledger.col.at"}
KINDS = {"grant": "ledger.kind.grant", "correction": "ledger.kind.correction", "reversal": "ledger.kind.reversal"}
COUNTS = {"year": "ledger.counts.year", "once": "ledger.counts.once", "lifetime": "ledger.counts.lifetime",
          "claim": "ledger.counts.claim"}
_RISKY = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a cell starting so as a formula


def entry_line(entry: Entry, lang: str) -> str:
    year = t("ledger.no_year", lang) if entry.year is None else str(entry.year)
    line = t("ledger.line", lang, id=entry.id, kind=t(KINDS[entry.kind], lang), clause=entry.clause, year=year,
             counts=t(COUNTS[entry.counts], lang), amount=format_money(entry.amount), round=entry.round or "—",
             at=entry.at, by=entry.by)
    if entry.object is not None:
        line += t("ledger.line.object", lang, object=entry.object)
    if entry.corrects is not None:
        line += t("ledger.line.corrects", lang, entry=entry.corrects, reason=entry.reason or "")
    return line


def show_text(recipient: str, entries: Sequence[Entry], lang: str) -> str:
    """A recipient's history, newest first, then what stands by clause and fund year."""
    if not entries:
        return t("ledger.show.none", lang, recipient=recipient)
    lines = [t("ledger.show.head", lang, recipient=recipient, count=len(entries))]
    lines += ["  " + entry_line(e, lang) for e in entries]
    lines.append(t("ledger.show.sums", lang))
    for (clause, year), amount in sorted(summed_by_clause_and_year(entries).items(),
                                         key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        lines.append("  " + t("ledger.show.sum", lang, clause=clause,
                              year=t("ledger.no_year", lang) if year is None else year,
                              amount=format_money(amount)))
    return "\n".join(lines)


def list_text(entries: Sequence[Entry], lang: str) -> str:
    """`policy ledger list`'s text: one line per entry, then their count and the total granted (or "none")."""
    if not entries:
        return t("ledger.list.none", lang)
    total = sum((e.amount for e in entries if e.kind == "grant"), Decimal(0))
    return "\n".join([entry_line(e, lang) for e in entries]
                     + [t("ledger.list.total", lang, count=len(entries), amount=format_money(total))])


def _cell(entry: Entry, field: str, lang: str) -> Any:
    value = getattr(entry, field)
    if field == "kind":
        return t(KINDS[value], lang)
    if field == "counts":
        return t(COUNTS[value], lang)
    return value


def export(entries: Sequence[Entry], path: str, lang: str) -> None:
    """Every entry to `path` (.csv or .xlsx), written whole or not at all; text cells never read as formulas."""
    headers = [t(COLUMNS[f], lang) for f in COLUMNS]
    rows = [[_cell(e, f, lang) for f in COLUMNS] for e in entries]
    if path.lower().endswith(".xlsx"):
        import xlsxwriter

        with replace_when_done(path, "wb") as handle:
            book = xlsxwriter.Workbook(handle, {"strings_to_formulas": False, "strings_to_urls": False,
                                                "strings_to_numbers": False})
            sheet = book.add_worksheet("ledger")
            money = book.add_format({"num_format": "#,##0.00"})
            sheet.write_row(0, 0, headers)
            amount = list(COLUMNS).index("amount")
            for i, row in enumerate(rows, 1):
                for j, value in enumerate(row):
                    if j == amount:
                        sheet.write_number(i, j, value, money)  # the Decimal as XLSX stores numbers
                    elif value is None:
                        continue
                    elif isinstance(value, int):
                        sheet.write_number(i, j, value)
                    else:
                        sheet.write_string(i, j, str(value))
            book.close()
        return
    with replace_when_done(path, "w", encoding="utf-8-sig", newline="") as text:
        out = csv.writer(text)
        out.writerow(headers)
        for row in rows:
            out.writerow(["" if v is None else _safe(v) for v in row])


def _safe(value: object) -> str:
    text = str(value)
    if isinstance(value, str) and text.startswith(_RISKY):
        return "'" + text
    return text


def verify_text(problems: Sequence[Message], counts: dict[str, int], lang: str) -> str:
    """`policy ledger verify`'s text: what was checked when nothing is wrong, else each problem and their count."""
    if not problems:
        return t("ledger.verify.ok", lang, decisions=counts.get("decisions", 0), entries=counts.get("entries", 0),
                 rounds=counts.get("rounds", 0))
    return "\n".join([str(localize(p, lang)) for p in problems]
                     + [t("ledger.verify.bad", lang, count=len(problems))])


def _comparison(label: str, c: Comparison, recorded: Decimal, lang: str) -> list[str]:
    if c.problem is not None:
        return [t("ledger.replay.cannot", lang, under=label, problem=c.problem.format(lang))]
    if c.same:
        return [t("ledger.replay.same_under", lang, under=label)]
    delta = (c.total or Decimal(0)) - recorded
    lines = [t("ledger.replay.differs", lang, under=label, total=format_money(c.total or Decimal(0)),
               delta=("+" if delta >= 0 else "−") + format_money(abs(delta)))]
    for change in c.changes:
        def said(o: Any) -> str:
            if o is None:
                return t("ledger.replay.absent", lang)
            return str(o.outcome) + ("" if o.amount is None else " " + format_money(o.amount))
        if change.paid:  # a pool's share: amounts only
            def paid(o: Any) -> str:
                return "—" if o is None or o.amount is None else format_money(o.amount)
            lines.append("    " + t("ledger.replay.paid", lang, clause=change.clause, then=paid(change.recorded),
                                    now=paid(change.now)))
            continue
        lines.append("    " + t("ledger.replay.clause", lang, clause=change.clause, then=said(change.recorded),
                                now=said(change.now)))
    return lines


def replay_text(report: ReplayReport, lang: str, version: str) -> str:
    """`policy ledger replay`'s text: each decision that comes out differently, clause by clause, under the policy
    as recorded and as it is today (a lone decision is shown even when the same), then how many are the same;
    `version` is this engine's, named beside a decision another version made."""
    lines = []
    stored_label, today_label = t("ledger.replay.stored", lang), t("ledger.replay.today", lang)
    for d in report.decisions:
        head = t("ledger.replay.head", lang, decision=d.decision, recipient=d.recipient, round=d.round or "—",
                 total=format_money(d.recorded_total))
        if d.same:
            if len(report.decisions) == 1:  # a round's decisions that are the same are counted, not listed
                lines.append(head + " " + t("ledger.replay.same", lang))
            continue
        lines.append(head)
        if d.engine_version != version:
            lines.append("    " + t("ledger.replay.engine", lang, then=d.engine_version, now=version))
        lines += ["    " + s for s in _comparison(stored_label, d.stored, d.recorded_total, lang)]
        if d.today is not None:
            if d.today.revision != d.revision:
                lines.append("    " + t("ledger.replay.revision", lang, then=d.revision[:12],
                                           now=d.today.revision[:12]))
            lines += ["    " + s for s in _comparison(today_label, d.today, d.recorded_total, lang)]
    same = sum(1 for d in report.decisions if d.same)
    lines.append(t("ledger.replay.summary", lang, same=same, count=len(report.decisions)))
    if report.decisions and report.decisions[0].today is None:
        lines.append(t("ledger.replay.no_today", lang))
    return "\n".join(lines)
