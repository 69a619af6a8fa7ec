"""A round's results, written as they come: CSV or JSON Lines for programs, an XLSX workbook for officers.

CSV and JSON Lines: the results file, one line per applicant evaluated, and beside it NAME.errors.(csv|jsonl)
(one line per problem of a bad row) and NAME.summary.(csv|json) (per clause, and the round). Amounts are exact
decimal text, never floats. The workbook has three sheets — 结果 (results), 汇总 (summary), 问题 (errors) —
written in openpyxl's write-only mode, so its rows stream to disk too; amounts are numbers formatted as money.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from engine.core.messages import t
from engine.model.policy import Policy
from engine.rounds.run import Output, Record, RowError, Summary

WRITERS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".xlsx": "xlsx"}
MONEY_FORMAT = '#,##0.00" 元"'
OUTCOME_WORDS = {"eligible": "outcome.eligible", "ineligible": "outcome.ineligible",
                 "undetermined": "outcome.undetermined", "referred": "outcome.referred",
                 "not_applicable": "outcome.not_applicable"}


def sibling(path: str, part: str, suffix: str) -> str:
    """results.csv -> results.errors.csv"""
    p = Path(path)
    return str(p.with_name(f"{p.stem}.{part}{suffix}"))


def outputs(path: str) -> list[str]:
    """Every file a round writes for `path` (-o), so none of them is overwritten by surprise."""
    kind = WRITERS[Path(path).suffix.lower()]
    if kind == "xlsx":
        return [path]
    suffix = Path(path).suffix
    return [path, sibling(path, "errors", suffix), sibling(path, "summary", ".json" if kind == "jsonl" else ".csv")]


def make_output(path: str, policy: Policy, lang: str, sheets: str | None = None) -> Output:
    kind = WRITERS[Path(path).suffix.lower()]
    if kind == "csv":
        return CsvOutput(path, policy, lang)
    if kind == "jsonl":
        return JsonlOutput(path, policy, lang)
    return XlsxOutput(path, policy, lang, sheets)


def _ids(policy: Policy) -> list[str]:
    return [c.id for c in policy.clauses if c.measure is None]


def csv_row(record: Record, ids: list[str]) -> list[str]:
    """An evaluated applicant's row of the results CSV."""
    row = [str(record.row), record.code or "", record.name or "", ";".join(record.kinds), record.total,
           "true" if record.complete else "false"]
    for clause in record.clauses:
        row += clause
    row.append(record.sheet or "")
    return row


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def jsonl_line(record: Record, ids: list[str]) -> str:
    """An evaluated applicant's line of the results JSON Lines, without its newline."""
    clauses = {}
    for cid, (outcome, amount, reason, note) in zip(ids, record.clauses, strict=True):
        entry: dict[str, str] = {"outcome": outcome}
        if amount:
            entry["amount"] = amount
        if reason:
            entry["reason"] = reason
        if note:
            entry["note"] = note
        clauses[cid] = entry
    line: dict[str, Any] = {"row": record.row, "credit_code": record.code, "applicant": record.name,
                            "recipient": list(record.kinds), "total": record.total,
                            "complete": record.complete, "clauses": clauses}
    if record.sheet:
        line["sheet"] = record.sheet
    return _ENCODE(line)


def _error_row(e: RowError) -> list[str]:
    return [str(e.row), e.where, e.column, e.message, e.suggestion]


class CsvOutput(Output):
    def __init__(self, path: str, policy: Policy, lang: str):
        self.path, self.policy, self.lang = path, policy, lang
        self.ids = _ids(policy)
        self.handle: IO[str] = open(path, "w", encoding="utf-8", newline="")
        self.errors_handle: IO[str] = open(sibling(path, "errors", ".csv"), "w", encoding="utf-8", newline="")
        self.out, self.errors = csv.writer(self.handle), csv.writer(self.errors_handle)
        head = ["row", "credit_code", "applicant", "recipient", "total", "complete"]
        for cid in self.ids:
            head += [f"{cid}.outcome", f"{cid}.amount", f"{cid}.reason", f"{cid}.note"]
        self.out.writerow(head + ["sheet"])
        self.errors.writerow(["row", "where", "column", "message", "suggestion"])

    def add(self, record: Record) -> None:
        if record.errors:
            self.errors.writerows(_error_row(e) for e in record.errors)
            return
        line = record.line if isinstance(record.line, list) else csv_row(record, self.ids)
        self.out.writerow(line)

    def finish(self, summary: Summary) -> None:
        self.handle.close()
        self.errors_handle.close()
        with open(sibling(self.path, "summary", ".csv"), "w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(["clause", "title", "eligible", "ineligible", "undetermined", "referred", "claimed",
                          "awarded", "pool"])
            for cid in self.ids:
                s = summary.clauses[cid]
                out.writerow([cid, self.policy.clause(cid).title, s.eligible, s.ineligible, s.undetermined,
                              s.referred, f"{s.claimed:f}", f"{s.awarded:f}", _pool_id(self.policy, cid)])
            out.writerow(["total", "", "", "", "", "", "", f"{summary.total:f}", ""])
            out.writerow(["applicants", summary.applicants, "bad_rows", summary.bad_rows, "complete",
                          summary.complete, "", "", ""])


def _pool_id(policy: Policy, cid: str) -> str:
    from engine.model.pools import pool_of

    pool = pool_of(policy.pools, cid)
    return pool.id if pool is not None else ""


def summary_json(policy: Policy, summary: Summary) -> dict[str, Any]:
    pools = {}
    for pool in policy.pools:
        shares = summary.pools.get(pool.id)
        pools[pool.id] = {"clauses": list(pool.clauses), "total": f"{pool.total:f}", "share": pool.share,
                          "claims": f"{shares.claims:f}" if shares else "0",
                          "paid": f"{shares.paid:f}" if shares else "0",
                          "binds": bool(shares and shares.binds)}
    return {
        "policy": policy.id, "document": policy.document,
        "applicants": summary.applicants, "bad_rows": summary.bad_rows, "complete": summary.complete,
        "total": f"{summary.total:f}",
        "clauses": {cid: {"eligible": s.eligible, "ineligible": s.ineligible, "undetermined": s.undetermined,
                          "referred": s.referred, "claimed": f"{s.claimed:f}", "awarded": f"{s.awarded:f}"}
                    for cid, s in summary.clauses.items()},
        "pools": pools,
    }


class JsonlOutput(Output):
    def __init__(self, path: str, policy: Policy, lang: str):
        self.path, self.policy, self.lang = path, policy, lang
        self.ids = _ids(policy)
        self.handle: IO[str] = open(path, "w", encoding="utf-8")
        self.errors_handle: IO[str] = open(sibling(path, "errors", Path(path).suffix), "w", encoding="utf-8")
        self.encode = _ENCODE

    def add(self, record: Record) -> None:
        if record.errors:
            for e in record.errors:
                self.errors_handle.write(self.encode({"row": e.row, "where": e.where, "column": e.column,
                                                      "message": e.message, "suggestion": e.suggestion}) + "\n")
            return
        line = record.line if record.line is not None else jsonl_line(record, self.ids)
        self.handle.write(f"{line}\n")

    def finish(self, summary: Summary) -> None:
        self.handle.close()
        self.errors_handle.close()
        with open(sibling(self.path, "summary", ".json"), "w", encoding="utf-8") as handle:
            json.dump(summary_json(self.policy, summary), handle, ensure_ascii=False, indent=2)
            handle.write("\n")


class XlsxOutput(Output):
    """The officers' workbook: results, summary and errors sheets, streamed (write-only)."""

    def __init__(self, path: str, policy: Policy, lang: str, sheets: str | None):
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Font, PatternFill

        self.path, self.policy, self.lang, self.sheets = path, policy, lang, sheets
        self.ids = _ids(policy)
        self.book = Workbook(write_only=True)
        self.results = self.book.create_sheet(t("batch.sheet.results", lang))
        self.summary = self.book.create_sheet(t("batch.sheet.summary", lang))
        self.errors = self.book.create_sheet(t("batch.sheet.errors", lang))
        self.Cell = WriteOnlyCell
        self.bold = Font(bold=True)
        self.fill = PatternFill("solid", fgColor="F4F6F9")
        self.link = Font(color="1F5FA8", underline="single")
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.words = {k: t(OUTCOME_WORDS[k], lang) for k in OUTCOME_WORDS}
        self.yes, self.no = t("yes", lang), t("no", lang)
        head = [t("batch.col.row", lang), t("template.col.credit_code", lang), t("template.col.applicant", lang),
                t("template.col.recipient", lang), t("batch.col.total", lang), t("batch.col.complete", lang)]
        for cid in self.ids:
            head += [t("batch.col.outcome", lang, clause=cid), t("batch.col.amount", lang, clause=cid),
                     t("batch.col.reason", lang, clause=cid)]
        if sheets:
            head.append(t("batch.col.sheet", lang))
        widths = [6, 22, 24, 16, 16, 8] + [10, 14, 30] * len(self.ids) + ([14] if sheets else [])
        self._widths(self.results, widths)
        self.results.freeze_panes = "C2"
        self.results.append(self._head(head))
        self._widths(self.errors, [6, 14, 36, 60, 50])
        self.errors.append(self._head([t("batch.col.row", lang), t("batch.col.where", lang),
                                       t("batch.col.column", lang), t("batch.col.problem", lang),
                                       t("batch.col.hint", lang)]))
        self.labels = {k: r.label for k, r in policy.recipients.items()}

    @staticmethod
    def _widths(sheet: Any, widths: list[int]) -> None:
        from openpyxl.utils import get_column_letter

        for i, width in enumerate(widths, 1):
            sheet.column_dimensions[get_column_letter(i)].width = width

    def _head(self, names: list[str]) -> list[Any]:
        out = []
        for name in names:
            cell = self.Cell(self.results, value=name)
            cell.font, cell.fill = self.bold, self.fill
            out.append(cell)
        return out

    def _money(self, sheet: Any, text: str) -> Any:
        if not text:
            return None
        cell = self.Cell(sheet, value=Decimal(text))  # type: ignore[arg-type]  # openpyxl writes a Decimal exactly
        cell.number_format = MONEY_FORMAT
        return cell

    def add(self, record: Record) -> None:
        if record.errors:
            for e in record.errors:
                self.errors.append([e.row, e.where if e.where != str(e.row) else None, e.column or None,
                                    e.message, e.suggestion or None])
            return
        sheet = self.results
        row: list[Any] = [record.row, record.code, record.name,
                          "、".join(self.labels.get(k, k) for k in record.kinds),
                          self._money(sheet, record.total), self.yes if record.complete else self.no]
        for outcome, amount, _reason, note in record.clauses:
            row += [self.words[outcome], self._money(sheet, amount), note or None]
        if self.sheets:
            if record.sheet:
                cell = self.Cell(sheet, value=record.sheet)
                cell.hyperlink = f"{Path(self.sheets).name}/{record.sheet}"
                cell.font = self.link
                row.append(cell)
            else:
                row.append(None)
        sheet.append(row)

    def finish(self, summary: Summary) -> None:
        lang, sheet = self.lang, self.summary
        self._widths(sheet, [8, 36, 8, 8, 8, 8, 18, 18, 24])
        sheet.append(self._head([t("batch.col.clause", lang), t("batch.col.title", lang),
                                 t("outcome.eligible", lang), t("outcome.ineligible", lang),
                                 t("outcome.undetermined", lang), t("outcome.referred", lang),
                                 t("batch.col.claimed", lang), t("batch.col.awarded", lang),
                                 t("batch.col.pool", lang)]))
        from engine.model.pools import pool_of

        for cid in self.ids:
            s = summary.clauses[cid]
            pool = pool_of(self.policy.pools, cid)
            sheet.append([cid, self.policy.clause(cid).title, s.eligible, s.ineligible, s.undetermined, s.referred,
                          self._money(sheet, f"{s.claimed:f}"), self._money(sheet, f"{s.awarded:f}"),
                          pool.title if pool is not None else None])
        total = self.Cell(sheet, value=t("batch.col.round_total", lang))
        total.font = self.bold
        sheet.append([total, None, None, None, None, None, None, self._money(sheet, f"{summary.total:f}")])
        sheet.append([])
        sheet.append([t("batch.summary.applicants", lang), summary.applicants])
        sheet.append([t("batch.summary.complete", lang), summary.complete])
        sheet.append([t("batch.summary.bad_rows", lang), summary.bad_rows])
        for pool in self.policy.pools:
            shares = summary.pools.get(pool.id)
            claims = shares.claims if shares else Decimal(0)
            paid = shares.paid if shares else Decimal(0)
            sheet.append([t("batch.summary.pool", lang, pool=pool.title), None,
                          None, None, None, None, self._money(sheet, f"{claims:f}"), self._money(sheet, f"{paid:f}"),
                          self._money(sheet, f"{pool.total:f}")])
        self.book.save(self.path)
