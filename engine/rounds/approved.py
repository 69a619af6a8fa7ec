"""Approved amounts: what the department decided within each ceiling (up_to), read back from the signed workbook.

`policy batch` writes, on the workbook's 签批 sheet, an empty 核定金额 column beside each clause whose amount is a
ceiling. Officers fill in what they approve (0 for an applicant not chosen, 择优) and sign; the round is then
recorded with `--record ROUND --approved SIGNED.xlsx`: each decision keeps its claims (the ceilings, as evaluated)
and records the approved amounts as what was paid, which its grants count. An empty cell leaves the ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Sequence

from engine.core.amounts import AmountSyntaxError, parse_amount, whole_fen
from engine.core.messages import LANGS, msg, t
from engine.core.text import identity
from engine.model.policy import Policy
from engine.rounds.read import RoundError


@dataclass(frozen=True)
class Approved:
    """The approved amounts of a signed workbook: (credit code, clause id) → amount, with where each was read."""

    amounts: dict[tuple[str, str], Decimal]
    cells: dict[tuple[str, str], str]  # the cell each was read from (签批!F7)


def read_approved(path: str, policy: Policy) -> Approved:
    """The 核定金额 cells filled in on the workbook's 签批 sheet (in either language), by credit code and clause."""
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.exceptions import InvalidFileException

    ceilings = [c.id for c in policy.clauses if c.up_to and c.award is not None]
    names = {identity(t("batch.sheet.signing", lang)) for lang in LANGS}
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as error:
        raise RoundError(msg("ceiling.approved.unreadable", path=path, reason=str(error) or type(error).__name__),
                         msg("ceiling.approved.unreadable.hint")) from None
    try:
        sheet = next((book[n] for n in book.sheetnames if identity(n) in names), None)
        if sheet is None:
            raise RoundError(msg("ceiling.approved.no_sheet", path=path, sheet=t("batch.sheet.signing", "zh")),
                             msg("ceiling.approved.unreadable.hint"))
        rows = sheet.iter_rows(values_only=True)
        head = [identity(str(h)) if h is not None else "" for h in next(rows, ())]
        code_col = _column(head, "template.col.credit_code", {})
        columns = {cid: _column(head, "ceiling.col.approved", {"clause": cid}) for cid in ceilings}
        if code_col is None or any(c is None for c in columns.values()):
            missing = [cid for cid, c in columns.items() if c is None]
            raise RoundError(msg("ceiling.approved.no_column", path=path, clauses="、".join(missing) or "-"),
                             msg("ceiling.approved.no_column.hint"))
        amounts: dict[tuple[str, str], Decimal] = {}
        cells: dict[tuple[str, str], str] = {}
        for number, row in enumerate(rows, start=2):
            code = row[code_col] if code_col < len(row) else None
            if code is None or str(code).strip() == "":
                continue
            for cid, col in columns.items():
                assert col is not None
                raw = row[col] if col < len(row) else None
                if raw is None or (isinstance(raw, str) and not raw.strip()):
                    continue
                where = f"{sheet.title}!{get_column_letter(col + 1)}{number}"
                try:
                    value = parse_amount(raw.strip() if isinstance(raw, str) else raw)
                except AmountSyntaxError as error:
                    raise RoundError(msg("ceiling.approved.not_amount", cell=where, reason=error.message),
                                     msg("ceiling.approved.not_amount.hint")) from None
                if value < 0 or not whole_fen(value):
                    raise RoundError(msg("ceiling.approved.not_amount", cell=where, reason=str(raw)),
                                     msg("ceiling.approved.not_amount.hint"))
                amounts[(str(code).strip(), cid)] = value
                cells[(str(code).strip(), cid)] = where
    finally:
        book.close()
    return Approved(amounts, cells)


def _column(head: Sequence[str], key: str, values: dict[str, object]) -> int | None:
    wanted = {identity(t(key, lang, **values)) for lang in LANGS}
    return next((i for i, h in enumerate(head) if h in wanted), None)


def approve(decisions: Sequence[Any], approved: Approved, policy: Policy) -> tuple[list[Any], int]:
    """Each decision with the approved amounts as what was paid (its claims kept): its grants count them (none
    where 0 was approved). An amount above what was due, or for a clause that pays nothing, or for an applicant not
    in the round, is refused naming its cell. Returns the decisions and how many ceilings were left unapproved."""
    by_code = {d.recipient: d for d in decisions}
    ceilings = {c.id for c in policy.clauses if c.up_to}
    for (code, _clause), where in approved.cells.items():
        if code not in by_code:
            raise RoundError(msg("ceiling.approved.no_applicant", cell=where, code=code),
                             msg("ceiling.approved.mismatch.hint"))
    out, left = [], 0
    for d in decisions:
        mine = {cid: a for (code, cid), a in approved.amounts.items() if code == d.recipient}
        paid = list(d.paid if d.paid is not None else d.outcomes)
        changed = False
        for k, o in enumerate(paid):
            if o.clause not in mine:
                left += o.clause in ceilings and bool(o.amount)
                continue
            amount = mine[o.clause]
            where = approved.cells[(d.recipient, o.clause)]
            if o.amount is None or amount > o.amount:
                due = o.amount if o.amount is not None else Decimal(0)
                raise RoundError(msg("ceiling.approved.above", cell=where, amount=f"{amount:,.2f}",
                                     ceiling=f"{due:,.2f}", clause=o.clause),
                                 msg("ceiling.approved.mismatch.hint"))
            paid[k] = type(o)(o.clause, o.outcome, amount)
            changed = True
        if not changed:
            out.append(d)
            continue
        amounts = {o.clause: o.amount for o in paid}
        grants = tuple(replace(g, amount=amounts[g.clause]) if g.clause in mine else g for g in d.grants)
        out.append(replace(d, paid=tuple(paid), grants=tuple(g for g in grants if g.amount)))
    return out, left
