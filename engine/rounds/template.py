"""The application sheet: a blank sheet to fill in Excel or WPS, one column per thing an applicant states.

Row 1 is the header, `label（name）`; row 2 a note per column (unit, allowed values), starting with # so that
`policy batch` skips it; row 3 an example applicant to overwrite. In XLSX each header also carries a comment,
cells with a fixed set of values have a drop-down list (data validation), the credit-code column is text (a
number would lose its digits), and a 说明 sheet lists every column. A CSV template is UTF-8 with a byte-order
mark, which Excel and WPS need to show Chinese.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import IO, Any

from engine.core.messages import t
from engine.model.kinds.integer import within
from engine.model.policy import Fact, Policy
from engine.rounds import identity
from engine.rounds.columns import Column, columns, fixed_labels

EXAMPLE_CODE = identity.make_code("91331100MA2A0B1C2")  # a well-formed example, not a real enterprise
DATA_ROWS = 1000  # rows given drop-down lists and text format in the XLSX template


def sheet_columns(policy: Policy, lang: str, recipient: str | None) -> list[Column]:
    """The application sheet's columns, headed in `lang`: the fixed ones, each fact the kind of applicant
    `recipient` may give (every fact when None), and one per clause whose earlier grants count (capped or one-time)."""
    def granted(clause: str, title: str) -> str:
        return t("template.col.granted", lang, clause=clause, title=title)

    return columns(policy, fixed_labels(lang), granted, recipient)


def _choices(policy: Policy, column: Column, lang: str) -> list[str]:
    if column.kind == "recipient":
        return [r.label for r in policy.recipients.values()]
    if column.kind == "area":
        return list(policy.areas)
    if column.fact is not None:
        return column.fact.kind.choices(column.fact, lang)
    return []


def note(policy: Policy, column: Column, lang: str) -> str:
    """What a column takes, in a few words: its type and unit, or its allowed values."""
    if column.kind == "code":
        return t("template.note.code", lang)
    if column.kind == "applicant":
        return t("template.note.applicant", lang)
    if column.kind == "claim_date":
        return t("template.note.date", lang)
    if column.kind == "granted":
        return t("template.note.granted", lang)
    choices = _choices(policy, column, lang)
    if choices:
        return t("template.note.choices", lang, choices="、".join(choices))
    if column.kind == "area":  # a policy that names no areas: any, or none
        return t("template.note.area", lang)
    fact = column.fact
    assert fact is not None
    return fact.kind.note(fact, lang)


def year_example(policy: Policy, fact: Fact, today: dt.date) -> int:
    """The fund year of the example claim: last year (a claim is usually made for the year just ended), within
    the years the policy is in force and the fact's bounds."""
    year = max(today.year - 1, policy.start.year)
    if policy.end is not None:
        year = min(year, policy.end.year)
    return within(fact, year)


def example_row(policy: Policy, cols: list[Column], lang: str, recipient: str | None, today: dt.date,
                xlsx: bool) -> list[Any]:
    row: list[Any] = []
    for c in cols:
        if c.kind == "code":
            row.append(EXAMPLE_CODE)
        elif c.kind == "applicant":
            row.append(t("template.example.applicant", lang))
        elif c.kind == "recipient":
            kind = recipient or next(iter(policy.recipients))
            row.append(policy.recipients[kind].label)
        elif c.kind == "area":
            row.append(policy.areas[0] if policy.areas else None)
        elif c.kind == "claim_date":
            row.append(today if xlsx else today.isoformat())
        elif c.kind == "granted":
            row.append(0)
        elif c.fact is not None and c.fact.name == policy.fund_year:
            row.append(year_example(policy, c.fact, today))
        else:
            assert c.fact is not None
            row.append(c.fact.kind.example(c.fact, lang, xlsx))
    return row


def csv_template(policy: Policy, lang: str, recipient: str | None, today: dt.date | None = None) -> bytes:
    """The CSV application sheet (UTF-8 with BOM, as spreadsheets open it): headers, a `#` notes row saying what
    each column takes, and one example row dated `today` (default: today)."""
    cols = sheet_columns(policy, lang, recipient)
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow([c.header for c in cols])
    notes = [note(policy, c, lang) for c in cols]
    notes[0] = "# " + notes[0]
    out.writerow(notes)
    out.writerow(example_row(policy, cols, lang, recipient, today or dt.date.today(), xlsx=False))
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_template(policy: Policy, lang: str, recipient: str | None, path: str | IO[bytes],
                  today: dt.date | None = None) -> None:
    """Write the XLSX application sheet to `path`, a file name or an open binary file. A name is written whole
    or not at all (engine.core.files); an open file is the caller's to put in place."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    cols = sheet_columns(policy, lang, recipient)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = t("template.sheet", lang)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="F4F6F9")
    grey = Font(italic=True, color="5B6472")
    wrap = Alignment(wrap_text=True, vertical="top")
    notes = [note(policy, c, lang) for c in cols]
    notes[0] = "# " + notes[0]
    example = example_row(policy, cols, lang, recipient, today or dt.date.today(), xlsx=True)
    for i, c in enumerate(cols, 1):
        letter = get_column_letter(i)
        head = sheet.cell(row=1, column=i, value=c.header)
        head.font, head.fill, head.alignment = bold, fill, wrap
        described = c.fact.description if c.fact is not None and c.fact.description else ""
        head.comment = Comment("\n".join(x for x in (c.header, notes[i - 1].lstrip("# "), described) if x),
                               "policy", width=320, height=120)
        cell = sheet.cell(row=2, column=i, value=notes[i - 1])
        cell.font, cell.alignment = grey, wrap
        value = sheet.cell(row=3, column=i, value=example[i - 1])
        if c.fact is not None and c.fact.kind.number_format:
            value.number_format = c.fact.kind.number_format
        elif c.kind == "granted":
            value.number_format = "#,##0.00"
        elif c.kind == "claim_date":
            value.number_format = "yyyy-mm-dd"
        elif c.kind == "code":
            for row in range(3, DATA_ROWS + 3):
                sheet.cell(row=row, column=i).number_format = "@"
        choices = _choices(policy, c, lang)
        if choices and len(",".join(choices)) < 250:
            rule = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
                                  showErrorMessage=True)
            rule.error = t("template.validation", lang, choices="、".join(choices))
            sheet.add_data_validation(rule)
            rule.add(f"{letter}3:{letter}{DATA_ROWS + 2}")
        sheet.column_dimensions[letter].width = min(40, max(12, len(c.header) * 1.6))
    sheet.row_dimensions[1].height = 48
    sheet.freeze_panes = "B3"
    about = book.create_sheet(t("template.about", lang))
    about.append([t("template.about.column", lang), t("template.about.name", lang), t("template.about.takes", lang),
                  t("template.about.description", lang)])
    for c, text in zip(cols, notes, strict=True):
        about.append([c.header, c.name, text.lstrip("# "), c.fact.description if c.fact is not None else None])
    about.append([])
    about.append([t("template.about.rows", lang)])
    for cell in about[1]:
        cell.font = bold
    for letter, width in zip("ABCD", (40, 28, 60, 50), strict=True):
        about.column_dimensions[letter].width = width
    if isinstance(path, str):
        from engine.core.files import replace_when_done

        with replace_when_done(path, "wb") as handle:
            book.save(handle)
    else:
        book.save(path)
