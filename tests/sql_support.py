"""Shared by the SQL engine's tests: a typed `applicants` relation made from applicants, and the row engine's
per-clause results as the results files show them (outcome, amount text, reason code)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import tempfile
from decimal import Decimal
from typing import Any, Iterable

from engine.model.outcome import Outcome
from engine.rounds.results import amount_text
from engine.runtime.sql import ROW, ident, input_columns, sql_query


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _cell(value: object) -> object:
    """A list's items as the JSON a cell holds (each field as a facts file gives it: text, yes/no, exact numbers)."""
    if isinstance(value, tuple):
        return json.dumps([{k: v if isinstance(v, bool) or v is None else _text(v) for k, v in item.items()}
                           for item in value], ensure_ascii=False)
    return value


def load_typed(con: Any, policy: Any, applicants: Iterable[tuple[Any, dt.date]]) -> set[int]:
    """Create the query's input relation `applicants` from checked Applicants and their claim dates (one per
    row, numbered from 1); a list fact's items are read from their JSON by its kind's SQL parse. Returns the rows
    whose list the parse does not read plainly (NULL here: a round hands them to the row engine)."""
    applicants_list = list(applicants)
    q = sql_query(policy)
    columns = input_columns(policy)
    fd, path = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(list(columns))
            for n, (a, day) in enumerate(applicants_list, 1):
                assert not a.ledger, "a ledger has no column here: leave that applicant out"
                granted = a.granted
                row = [n, ";".join(a.recipients), a.area, day]
                row += [_cell(a.values.get(name)) for name in q.facts]
                row += [None if granted is None else granted.get(cid) for cid in q.granted]
                row.append(granted is not None)
                out.writerow([_text(v) for v in row])
        facts = policy.all_facts()
        lists = {n for n in q.facts if facts[n].kind.takes_items}  # read as their cell's JSON, by their kind
        types = "{" + ", ".join(f"'{k}': '{'VARCHAR' if k in lists else v}'" for k, v in columns.items()) + "}"
        parsed = ", ".join(f"CAST({facts[n].kind.sql_parse(facts[n], ident(n))} AS {columns[n]}) AS {ident(n)}"
                           for n in lists)
        con.execute(f"CREATE OR REPLACE TABLE applicants AS SELECT * {f'REPLACE ({parsed})' if lists else ''} "
                    f"FROM read_csv('{path}', header=true, columns={types}, quote='\"', escape='\"', nullstr='', "
                    "auto_detect=false)")
        # a list given that its SQL parse does not read plainly: a round hands that row to the row engine
        refused: set[int] = set()
        for name in lists:
            unread = {row for (row,) in con.execute(f"SELECT {ident(ROW)} FROM applicants WHERE {ident(name)} IS NULL")
                      .fetchall()}
            refused |= {n for n, (a, _day) in enumerate(applicants_list, 1)
                        if a.values.get(name) is not None and n in unread}
        return refused
    finally:
        os.unlink(path)


def row_results(policy: Any, result: Any) -> list[tuple[str, str, str]]:
    """(outcome, amount text, reason code) per clause, measures aside, as the row engine writes them."""
    out = []
    by_id = {r.clause.id: r for r in result.clauses}
    for c in policy.clauses:
        if c.measure is not None:
            continue
        r = by_id[c.id]
        amount = amount_text(r.amount) if r.outcome is Outcome.ELIGIBLE and r.amount is not None else ""
        reason = r.reason or ""
        if r.outcome is Outcome.UNDETERMINED:
            reason = "missing:" + ";".join(r.missing_keys) if r.missing else "missing"
        out.append((r.outcome.value, amount, reason))
    return out


def sql_results(con: Any, policy: Any) -> dict[int, tuple[bool, list[tuple[str, str, str]], str]]:
    """Row number -> (whether the row engine decides it, per clause results, total), from the query."""
    q = sql_query(policy)
    got = {}
    for row in con.execute(q.text).fetchall():
        number, rows_engine, rest, total = row[0], row[1], row[2:-1], row[-1]
        clauses = []
        for i in range(0, len(rest), 4):
            outcome, amount, reason, _missing = rest[i:i + 4]
            clauses.append((outcome, amount_text(amount) if amount is not None else "", reason))
        got[number] = (bool(rows_engine), clauses, amount_text(total))
    return got
