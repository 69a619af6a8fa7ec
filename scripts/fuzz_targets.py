"""The `batch` and `service` targets of scripts/fuzz.py (`--target batch|service|all`).

batch:   a valid round (CSV, JSON Lines or XLSX) of a few synthetic applicants (scripts/population.py) for a
         bundled policy, mutated (cells, quoting, encodings, surrogates, huge cells, BOMs, duplicate rows, late
         bad bytes, the zip and XML of a workbook), run through `policy batch` in-process (click's CliRunner),
         and every few inputs as a subprocess, to see the real exit code. Checks: the exit code is 0 or 1 and
         nothing crashed; every output is whole (parseable) or absent, and a results file comes with its summary;
         no cell of a CSV output reads as a formula; every evaluated row equals a single evaluation of the same
         facts (check_facts + engine.evaluate) to the fen: outcome and amount per clause, and the total.
service: mutated requests (methods, paths, query strings, headers, JSON / YAML / broken / huge / deep bodies,
         wrong media types) through the ASGI app in-process (starlette's TestClient), over a copy of the bundled
         policies plus one broken file. Checks: no 5xx but a 503 in the problems format; every error in the
         problems format; 405 names the allowed methods; no absolute server path and no Host header value in any
         response; the same size, entry and depth limits for a YAML body as for JSON; a 200 evaluate equals
         engine.evaluate of the same facts; a facts file the service writes reads back to the same result.

A finding is (check, signature); its first inputs are saved under OUT/<target>-NNN-<slug>/sample-K with the
input, the check that failed and a replay script. `KNOWN` names the defects already reported (D-numbers of
the second adversarial round), so a summary tells them from new ones.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from collections import Counter
from copy import deepcopy
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
MARKER = ".fuzz-finding"
SAMPLES = 3
POLICIES = ("lishui-2021-67", "datong-2021-46", "hangzhou-2019-99", "hangzhou-2022-draft")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?%?")


# --- findings --------------------------------------------------------------------------------------------------

@dataclass
class Finding:
    check: str  # which check failed: crash, exit-code, partial-output, unreadable-output, formula, mismatch, ...
    signature: str  # what is wrong, numbers masked: findings with one signature are one finding
    detail: str = ""  # this instance: the row, the values, the traceback's tail


# (target, check, pattern over the signature, the ops of the input) -> the reported defect
KNOWN: list[tuple[str, str, str, str, str]] = [
    ("batch", "crash", r"surrogate|UnicodeEncodeError", "", "D01"),
    ("batch", "crash", r"ParseError|XMLSyntaxError|BadZipFile|zipfile|ValueError|KeyError|invalid literal|"
                       r"not a zip|EOFError|OSError|lxml|openpyxl", "xlsx", "D02"),
    ("batch", "partial-output", r".", "surrogate", "D01"),
    ("batch", "partial-output", r".", "xlsx", "D02"),
    ("batch", "partial-output", r".", "late-bytes", "D09"),
    ("batch", "wrong-offset", r"half way", "late-bytes", "D09"),
    ("batch", "unreadable-output", r".", "late-bytes", "D09"),
    ("batch", "unreadable-output", r".", "surrogate", "D01"),
    ("batch", "unreadable-output", r".", "xlsx", "D02"),
    ("batch", "formula", r".", "", "D07"),
    ("batch", "crash", r"memory|MemoryError", "stray-quote", "D08"),
    ("service", "5xx", r"facts-file .*JSONDecodeError", "", "D03"),
    ("service", "round-trip", r".", "", "D11"),
    ("service", "limits", r".", "", "D12"),
    ("service", "path-leak", r".", "", "D13"),
    ("service", "host-echo", r".", "", "D16"),
    ("service", "no-allow", r".", "", "D17"),
]


def known_as(target: str, finding: Finding, ops: list[str]) -> str:
    text = " ".join(ops)
    for t, check, pattern, op, tag in KNOWN:
        if t == target and check == finding.check and re.search(pattern, finding.signature + " " + finding.detail) \
                and (not op or op in text):
            return tag
    return "NEW"


def mask(text: str) -> str:
    text = re.sub(r"^(?:[a-z_]\w*\.)+(?=\w*(?:Error|Exception|Warning|error)\b)", "", text.strip())
    text = re.sub(r"/tmp/[^\s'\"]*", "<path>", text)
    text = re.sub(r"'[^']{40,}'", "'…'", text)
    text = re.sub(r"\d+", "N", text)
    return text[:200]


def crash_signature(exc: BaseException) -> tuple[str, str]:
    """The exception's type and message (masked), and its innermost frame in the project."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if str(ROOT) in frame.filename and "site-packages" not in frame.filename:
            where = f"{os.path.relpath(frame.filename, ROOT)}:{frame.lineno} in {frame.name}"
    return mask(f"{type(exc).__name__}: {exc}"), where


@dataclass
class Distinct:
    target: str
    finding: Finding
    tag: str
    count: int = 0
    saved: list[str] = field(default_factory=list)


class Recorder:
    """Counts runs, inputs and exit codes, and keeps each distinct finding with its first inputs on disk."""

    def __init__(self, target: str, out: Path):
        self.target, self.out = target, out
        self.inputs = 0
        self.runs: Counter[str] = Counter()
        self.codes: Counter[str] = Counter()
        self.distinct: dict[tuple[str, str], Distinct] = {}

    def add(self, finding: Finding, ops: list[str], save: Callable[[Path], str]) -> None:
        key = (finding.check, finding.signature)
        entry = self.distinct.get(key)
        if entry is None:
            entry = self.distinct[key] = Distinct(self.target, finding, known_as(self.target, finding, ops))
            print(f"  new finding [{self.target} {finding.check}] {finding.signature} ({entry.tag}; "
                  f"{', '.join(ops)})", flush=True)
        entry.count += 1
        if len(entry.saved) < SAMPLES:
            number = list(self.distinct).index(key) + 1
            slug = re.sub(r"[^\w]+", "-", f"{finding.check} {finding.signature}".encode("ascii", "ignore")
                          .decode())[:48].strip("-").lower()
            folder = self.out / f"{self.target}-{number:03d}-{slug}"
            target = folder / f"sample-{len(entry.saved) + 1}"
            target.mkdir(parents=True, exist_ok=True)
            (folder / MARKER).touch()
            (target / "check.txt").write_text(
                f"target: {self.target}\ncheck: {finding.check}\nsignature: {finding.signature}\n"
                f"known as: {entry.tag}\nops: {', '.join(ops)}\n\n{finding.detail}\n", encoding="utf-8")
            entry.saved.append(save(target))

    def summary(self, seconds: float) -> list[str]:
        lines = [f"{self.target} target: {seconds:.0f} s, {self.inputs} inputs, {sum(self.runs.values())} runs "
                 f"({', '.join(f'{k} {v}' for k, v in sorted(self.runs.items()))})",
                 f"  {'exit codes' if self.target == 'batch' else 'statuses'}: "
                 + ", ".join(f"{k} {v}" for k, v in sorted(self.codes.items())),
                 f"  distinct findings: {len(self.distinct)}"]
        for e in sorted(self.distinct.values(), key=lambda e: (e.tag == "NEW", e.tag, -e.count)):
            lines.append(f"  [{e.tag}] {e.finding.check}: {e.finding.signature} — {e.count} inputs; "
                         f"e.g. {e.saved[0] if e.saved else '-'}")
        return lines

    def json(self) -> list[dict[str, Any]]:
        return [{"target": e.target, "check": e.finding.check, "signature": e.finding.signature, "known": e.tag,
                 "count": e.count, "saved": e.saved} for e in self.distinct.values()]


# --- rounds: valid ones, then mutated ---------------------------------------------------------------------------

_POLICY_CACHE: dict[str, Any] = {}


def bundled_policy(name: str) -> Any:
    if name not in _POLICY_CACHE:
        from engine import load_policy

        _POLICY_CACHE[name] = load_policy(str(ROOT / "policies" / f"{name}.yaml"),
                                          policies=[str(ROOT / "policies")])
    return _POLICY_CACHE[name]


def plain(value: Any) -> Any:
    """A population value as JSON: Decimal as its text (facts files accept amounts as text), dates as ISO."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@dataclass
class RoundCase:
    index: int
    policy: str
    form: str  # csv | jsonl | xlsx
    output: str  # .csv | .jsonl | .xlsx
    data: bytes
    originals: dict[str, dict[str, Any]]  # credit code -> facts dict, for rows the mutations left alone
    ops: list[str]
    rows: int
    subprocess: bool = False
    jobs: int = 1
    sheets: bool = False  # also --sheets: every calculation sheet whole
    bad_at: tuple[int, int] | None = None  # (start of its line, offset) of bytes that are not text, put in late


HOSTILE_CELLS = [
    "\ud800", "x\udfffy", "=1+1", "\t=1+1", "+cmd|' /C calc'!A0", "@SUM(1,2)", "-2+3+cmd|' /C calc'!A0",
    "\uff1d1+1", "=HYPERLINK(\"http://x.example\",\"x\")", "\r=1", "\"", "a\"b", "\"\"\"", "\n", "a\nb", "a\r\nb",
    "\x00", "\x01", "\ufeff", "\u202e", "\u2028", "１２", "1e5", "-1", "-0", "1E+400", "NaN", "Infinity", "",
    " ", "99999999999999999999", "0.001", "5%", "50%%", "1,000", "1万元", "1亿元", "2024-02-30", "9999-12-31",
    "TRUE", "是", "否", "null", "[]", "{}", "😀", "e\u0301", "x" * 40_000, "万" * 5_000,
]


def _cells_round(policy: Any, pop: list[dict[str, Any]], rng: random.Random) -> tuple[list[str], list[list[Any]],
                                                                                      list[str]]:
    from engine.rounds.columns import cells_of
    from engine.rounds.identity import make_code
    from engine.rounds.template import sheet_columns

    lang = rng.choice(["zh", "zh", "en"])
    cols = sheet_columns(policy, lang, None)
    codes = [make_code(f"9133110{rng.randrange(10**9):010d}") for _ in pop]
    rows = [["" if v is None else v for v in cells_of(d, cols, code)] for d, code in zip(pop, codes, strict=True)]
    return [c.header for c in cols], rows, codes


def _csv_bytes(header: list[str], rows: list[list[Any]], encoding: str = "utf-8", newline: str = "\r\n") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator=newline)
    writer.writerow(header)
    for row in rows:
        writer.writerow([str(v) for v in row])
    return text.getvalue().encode(encoding, "surrogatepass")


def _xlsx_bytes(header: list[str], rows: list[list[Any]], formulas: bool) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def placeholder(v: str) -> str:  # openpyxl refuses them: put in after, raw, into the XML
        v = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"QQ{ord(m.group()):04X}QQ", v)
        return re.sub("[\ud800-\udfff]", lambda m: f"QQ{ord(m.group()):04X}QQ", v)

    book = Workbook(write_only=True)
    sheet = book.create_sheet("申请")
    sheet.append([placeholder(h) for h in header])
    for row in rows:
        out = []
        for v in row:
            if isinstance(v, str):
                if v.startswith("=") and not formulas:
                    v = "'" + v
                v = placeholder(v)
            out.append(v)
        sheet.append(out)
    buffer = io.BytesIO()
    book.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    entries = {}
    for info in source.infolist():
        body = re.sub(rb"QQ([0-9A-F]{4})QQ", lambda m: chr(int(m.group(1), 16)).encode("utf-8", "surrogatepass"),
                      source.read(info.filename))
        entries[info.filename] = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-01-01T00:00:00Z", body)
    return zipped(entries)  # the same bytes for the same seed: no time of day in it


def zipped(entries: dict[str, bytes], repeat: tuple[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, body in entries.items():
            target.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), body, zipfile.ZIP_DEFLATED)
        if repeat is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                target.writestr(zipfile.ZipInfo(repeat[0], (2024, 1, 1, 0, 0, 0)), repeat[1], zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _line_spans(data: bytes) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in re.finditer(rb"\n", data):
        spans.append((start, m.end()))
        start = m.end()
    if start < len(data):
        spans.append((start, len(data)))
    return spans


def _byte_ops(data: bytes, rng: random.Random, rows: int, choice: str | None = None) -> tuple[bytes, str, int]:
    """A byte-level mutation of a CSV or JSON Lines file; the offset of its first changed byte."""
    spans = _line_spans(data)
    late = spans[-1][0] if spans else 0
    choice = choice or rng.choice(["late-bytes", "flip", "truncate", "bom", "double-bom", "utf16", "gbk", "cr-only",
                         "nul", "stray-quote", "insert-bytes", "mid-bom"])
    if choice == "late-bytes":
        bad = rng.choice([b"\xff\xfe", b"\xed\xa0\x80", b"\x80", b"\xc3", b"\xe4\xb8"])
        at = rng.randint(late, len(data))
        return data[:at] + bad + data[at:], choice, at
    if choice == "flip":
        at = rng.randrange(len(data))
        return data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1:], choice, at
    if choice == "truncate":
        at = rng.randrange(1, len(data))
        return data[:at], choice, at
    if choice == "bom":
        return b"\xef\xbb\xbf" + data, choice, 0
    if choice == "double-bom":
        return b"\xef\xbb\xbf\xef\xbb\xbf" + data, choice, 0
    if choice == "mid-bom":
        start = spans[rng.randrange(len(spans))][0] if spans else 0
        return data[:start] + b"\xef\xbb\xbf" + data[start:], choice, start
    if choice == "utf16":
        return data.decode("utf-8", "surrogatepass").encode("utf-16", "surrogatepass"), choice, 0
    if choice == "gbk":
        try:
            return data.decode("utf-8").encode("gb18030"), choice, 0
        except UnicodeError:
            return data, "gbk-skipped", len(data)
    if choice == "cr-only":
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r"), choice, 0
    if choice == "nul":
        at = rng.randrange(len(data))
        return data[:at] + b"\x00" * rng.choice([1, 7, 1000]) + data[at:], choice, at
    if choice == "stray-quote":
        start = spans[rng.randrange(1, len(spans))][0] if len(spans) > 1 else 0
        at = rng.randint(start, max(start, spans[-1][1] - 1))
        return data[:at] + b'"' + data[at:], choice, at
    at = rng.randrange(len(data))
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return data[:at] + junk + data[at:], choice, at


def make_round(seed: int, index: int, subprocess_every: int = 8) -> RoundCase:
    """Input `index` of the batch target, from random.Random(f"{seed}:batch:{index}") alone."""
    from population import population

    rng = random.Random(f"{seed}:batch:{index}")
    name = rng.choice(POLICIES)
    policy = bundled_policy(name)
    n = rng.choice([1, 2, 3, 4, 6, 8, 12, 30])
    big = rng.random() < 0.04  # past the encoding sniffer's first 64 KiB: bad bytes found half way (D09)
    if big:
        n = rng.choice([600, 1500])
    pop = population(policy, n, seed=rng.randrange(10**9))
    form = rng.choice(["csv", "csv", "jsonl", "jsonl", "xlsx"]) if not big else rng.choice(["csv", "jsonl"])
    output = rng.choice([".csv", ".jsonl", ".jsonl", ".csv", ".xlsx"])
    ops: list[str] = [form, f"out{output}"]
    header, rows, codes = _cells_round(policy, pop, rng)
    originals = {code: deepcopy(d) for code, d in zip(codes, pop, strict=True)}
    touched: set[str] = set()
    # cell-level mutations first (any format)
    jsonl_rows = [{"credit_code": code, **plain(d)} for code, d in zip(codes, pop, strict=True)]
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        op = rng.choice(["cell", "cell", "fact-cell", "duplicate-row", "delete-row", "swap-rows", "blank-row",
                         "extra-cell", "short-row"])
        r = rng.randrange(len(rows))
        if op in ("cell", "fact-cell"):
            value = rng.choice(HOSTILE_CELLS)
            if form == "jsonl":
                facts = jsonl_rows[r].get("facts")
                fact_names = list(facts) if isinstance(facts, dict) else []
                if op == "fact-cell" and fact_names:
                    jsonl_rows[r]["facts"][rng.choice(fact_names)] = value
                else:
                    jsonl_rows[r][rng.choice(list(jsonl_rows[r]) or ["applicant"])] = value
            else:
                if not rows[r]:
                    rows[r].append("")
                rows[r][rng.randrange(len(rows[r]))] = value
            touched.add(codes[r])
            ops.append(f"{op}:{value[:12]!r}" + (":surrogate" if re.search("[\ud800-\udfff]", value) else ""))
        elif op == "duplicate-row":
            rows.insert(r, list(rows[r]))
            jsonl_rows.insert(r, deepcopy(jsonl_rows[r]))
            codes.insert(r, codes[r])
            ops.append(op)
        elif op == "delete-row" and len(rows) > 1:
            del rows[r], jsonl_rows[r], codes[r]
            ops.append(op)
        elif op == "swap-rows":
            s = rng.randrange(len(rows))
            rows[r], rows[s] = rows[s], rows[r]
            jsonl_rows[r], jsonl_rows[s] = jsonl_rows[s], jsonl_rows[r]
            codes[r], codes[s] = codes[s], codes[r]
            ops.append(op)
        elif op == "blank-row":
            rows.insert(r, [""] * len(header))
            jsonl_rows.insert(r, {})
            codes.insert(r, "")
            ops.append(op)
        elif op == "extra-cell":
            rows[r].append(rng.choice(HOSTILE_CELLS))
            jsonl_rows[r]["extra_key"] = rng.choice(HOSTILE_CELLS)
            touched.add(codes[r])
            ops.append(op)
        elif op == "short-row":
            rows[r] = rows[r][: rng.randrange(len(rows[r]) or 1)]
            touched.add(codes[r])
            ops.append(op)
    if rng.random() < 0.1:  # header mutations
        c = rng.randrange(len(header))
        h = rng.choice(["dup", "blank", "unknown", "case", "space"])
        header = list(header)
        header[c] = {"dup": header[(c + 1) % len(header)], "blank": "", "unknown": "未知列", "case":
                     header[c].upper(), "space": f" {header[c]} "}[h]
        ops.append(f"header-{h}")
        touched.update(codes)
    if form == "jsonl":
        lines = []
        for row in jsonl_rows:
            text = json.dumps(row, ensure_ascii=rng.random() < 0.3)
            lines.append(text)
        if rng.random() < 0.15:
            r = rng.randrange(len(lines))
            bad = rng.choice(['{"credit_code": "\\ud800"}', "[1, 2]", "null", '{"applicant": ', "{" * 5000 + "}" * 5000,
                              '{"facts": ' + "[" * 3000 + "]" * 3000 + "}", '"x"', "1e999", "NaN",
                              '{"a": 1, "a": 2}', lines[r] + " trailing", "\ufeff" + lines[r]])
            lines.insert(r, bad)
            ops.append(f"line:{bad[:16]!r}" + (":surrogate" if "ud800" in bad else ""))
        data = ("\n".join(lines) + rng.choice(["\n", "", "\r\n", "\n\n"])).encode("utf-8", "surrogatepass")
    elif form == "csv":
        data = _csv_bytes(header, rows, newline=rng.choice(["\r\n", "\n"]))
    else:
        data = _xlsx_bytes(header, rows, formulas=rng.random() < 0.5)
    bad_at = None
    if form in ("csv", "jsonl") and (big or rng.random() < 0.45):
        data, op, at = _byte_ops(data, rng, len(rows), "late-bytes" if big else None)
        if op == "late-bytes":
            bad_at = (data.rfind(b"\n", 0, at) + 1, at)
        ops.append(op)
        # rows whose bytes come before the change are left as they were (a BOM, UTF-16, GBK change every row)
        first_changed = at if op not in ("utf16", "gbk", "cr-only", "bom", "double-bom") else -1
        kept = data[:data.rfind(b"\n", 0, max(0, first_changed)) + 1]  # whole lines before the change
        for code in codes:
            if code and code.encode() not in kept:
                touched.add(code)
    elif form == "xlsx" and rng.random() < 0.5:
        data, op = _zip_op(data, rng)
        ops.append(op)
        touched.update(codes)
    if any(re.search(r"\\ud[89a-f]|[\ud800-\udfff]", o) for o in ops):
        ops.append("surrogate")
    for code in touched:
        originals.pop(code, None)
    case = RoundCase(index, name, form, output, data, originals, ops, len(rows), bad_at=bad_at)
    case.subprocess = subprocess_every > 0 and index % subprocess_every == subprocess_every - 1
    case.jobs = rng.choice([1, 1, 2]) if case.subprocess else 1
    case.sheets = not big and rng.random() < 0.15
    return case


def clean_round(name: str, n: int, seed: int, form: str, output: str) -> RoundCase:
    """An unmutated round of `n` applicants (tests: the checks pass on it, and fail once something is broken)."""
    from population import population

    policy = bundled_policy(name)
    rng = random.Random(seed)
    pop = population(policy, n, seed=seed)
    header, rows, codes = _cells_round(policy, pop, rng)
    if form == "jsonl":
        data = "".join(json.dumps({"credit_code": c, **plain(d)}, ensure_ascii=False) + "\n"
                       for c, d in zip(codes, pop, strict=True)).encode("utf-8")
    elif form == "csv":
        data = _csv_bytes(header, rows)
    else:
        data = _xlsx_bytes(header, rows, formulas=False)
    return RoundCase(0, name, form, output, data, {c: deepcopy(d) for c, d in zip(codes, pop, strict=True)},
                     [form, f"out{output}"], n)


def _zip_op(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A workbook damaged inside: its zip structure or its XML."""
    choice = rng.choice(["cut-sheet", "row-r-x", "row-r-huge", "truncate-zip", "flip-zip", "no-shared",
                         "dup-entry", "not-zip", "bad-xml-char", "cell-r-x", "huge-dimension", "no-workbook"])
    if choice == "truncate-zip":
        return data[: rng.randrange(1, len(data))], "xlsx:truncate-zip"
    if choice == "flip-zip":
        at = rng.randrange(len(data))
        return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:], "xlsx:flip-zip"
    if choice == "not-zip":
        return b"PK\x03\x04" + b"\x00" * 100, "xlsx:not-zip"
    source = zipfile.ZipFile(io.BytesIO(data))
    entries = {i.filename: source.read(i.filename) for i in source.infolist()}
    sheet = next((n for n in entries if n.startswith("xl/worksheets/")), None)
    if sheet is None:
        return data, "xlsx:none"
    xml = entries[sheet]
    if choice == "cut-sheet":
        entries[sheet] = xml[: rng.randrange(len(xml) // 4, len(xml))]
    elif choice == "row-r-x":
        entries[sheet] = re.sub(rb'<row r="(\d+)"', b'<row r="x"', xml, count=rng.randint(1, 3))
    elif choice == "row-r-huge":
        entries[sheet] = re.sub(rb'<row r="(\d+)"', b'<row r="99999999999"', xml, count=1)
    elif choice == "cell-r-x":
        entries[sheet] = re.sub(rb'<c r="([A-Z]+\d+)"', b'<c r="1A"', xml, count=rng.randint(1, 3))
    elif choice == "bad-xml-char":
        entries[sheet] = xml.replace(b"<v>", b"<v>\x01", 1).replace(b"<t>", b"<t>&#0;", 1)
    elif choice == "huge-dimension":
        entries[sheet] = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', xml)
    elif choice == "no-shared":
        entries.pop("xl/sharedStrings.xml", None)
    elif choice == "no-workbook":
        entries.pop("xl/workbook.xml", None)
    return zipped(entries, (sheet, xml[: len(xml) // 2]) if choice == "dup-entry" else None), f"xlsx:{choice}"


# --- batch: the checks -------------------------------------------------------------------------------------------

def clause_view(policy: Any, result: Any) -> tuple[dict[str, tuple[str, Decimal | None]], Decimal]:
    """Outcome and amount (eligible clauses) per clause of a single evaluation, as a round writes them."""
    from engine.rounds.run import _OUTCOME_TEXT

    ids = [c.id for c in policy.clauses if c.measure is None]
    by_id = {r.clause.id: r for r in result.clauses}
    view: dict[str, tuple[str, Decimal | None]] = {}
    total = Decimal(0)
    for cid in ids:
        r = by_id.get(cid)
        if r is None:
            continue
        outcome = _OUTCOME_TEXT[r.outcome]
        amount = r.amount if outcome == "eligible" else None
        if amount is not None:
            total += amount
        view[cid] = (outcome, None if amount is None else Decimal(amount))
    return view, policy.money.round(total)


def single(policy: Any, data: dict[str, Any]) -> tuple[dict[str, tuple[str, Decimal | None]], Decimal] | str:
    """A single evaluation of a row's facts, or why they are refused (a PolicyError's first message)."""
    from engine import check_facts, evaluate
    from engine.core.errors import PolicyError

    try:
        applicant = check_facts(policy, deepcopy(data), "oracle")
        return clause_view(policy, evaluate(policy, applicant, trace=False))
    except PolicyError as error:
        return f"refused: {error.problems[0].message if error.problems else error}"


def read_results(path: Path, policy: Any) -> list[dict[str, Any]]:
    """Evaluated rows of a CSV or JSON Lines results file: row, code, total and per clause (outcome, amount)."""
    ids = [c.id for c in policy.clauses if c.measure is None]
    rows = []
    if path.suffix == ".jsonl":
        for line in path.read_text(encoding="utf-8").split("\n"):  # not splitlines: U+2028 is inside a string
            if not line.strip():
                continue
            d = json.loads(line)
            rows.append({"row": d["row"], "code": d.get("credit_code"), "total": Decimal(d["total"]),
                         "clauses": {cid: (c["outcome"], Decimal(c["amount"]) if c.get("amount") else None)
                                     for cid, c in d["clauses"].items()}})
    else:
        reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")))
        next(reader, None)
        for cells in reader:
            clauses = {}
            for i, cid in enumerate(ids):
                outcome, amount = cells[6 + 4 * i], cells[7 + 4 * i]
                clauses[cid] = (outcome, Decimal(amount) if amount else None)
            rows.append({"row": int(cells[0]) if cells[0].isdigit() else cells[0], "code": cells[1] or None,
                         "total": Decimal(cells[4]), "clauses": clauses})
    return rows


def reparse(case: RoundCase, path: Path, policy: Any) -> dict[int, dict[str, Any]]:
    """Each row's facts as a single read of the input gives them (not batch's workers): row -> facts data."""
    from engine.rounds.columns import Headers, RowReader, fixed_labels
    from engine.rounds.read import open_source
    from engine.rounds.template import sheet_columns

    out: dict[int, dict[str, Any]] = {}
    if case.form == "jsonl":
        text = path.read_bytes().decode("utf-8-sig", "strict")
        for number, line in enumerate(text.split("\n"), 1):
            try:
                data = json.loads(line, parse_float=Decimal)
            except ValueError:
                continue
            if isinstance(data, dict):
                data.pop("credit_code", None)
                out[number] = data
        return out
    lang = "zh"
    headers = Headers(sheet_columns(policy, lang, None), {label: name for name, label in fixed_labels("en").items()})
    source = open_source(str(path), headers)
    reader = RowReader(policy, {r.label: k for k, r in policy.recipients.items()})
    for number, cells in source.items():
        code, data, problems = reader.read(cells, source.layout)  # type: ignore[arg-type]
        if not problems:
            out[number] = data
    return out


def check_round(case: RoundCase, folder: Path, exit_code: int, stderr: str, crash: BaseException | None
                ) -> list[Finding]:
    """The findings of one batch run over `case` whose outputs are in `folder`."""
    from engine.rounds.write import outputs

    findings: list[Finding] = []
    if crash is not None:
        signature, where = crash_signature(crash)
        findings.append(Finding("crash", signature, f"at {where}\n" + "".join(
            traceback.format_exception(type(crash), crash, crash.__traceback__))[-3000:]))
    elif "Traceback (most recent call last)" in stderr:
        after = stderr[stderr.rindex("Traceback (most recent call last)"):].splitlines()[1:]
        last = next((line for line in after if line.strip() and not line.startswith((" ", "\t"))), "traceback")
        findings.append(Finding("crash", mask(last), stderr[-3000:]))
    if exit_code not in (0, 1) and crash is None and not findings:
        internal = re.search(r"(?:内部错误|[Ii]nternal error)[：:]\s*(.+)", stderr)
        findings.append(Finding("crash" if exit_code == 3 else "exit-code",
                                mask(internal.group(1)) if internal else f"exit {exit_code}", stderr[-3000:]))
    if case.bad_at is not None:  # the message names the byte that is not text, or one on its line
        line_start, at = case.bad_at
        try:  # other mutations (a surrogate cell written as UTF-8 would spell it) may have put bad bytes earlier
            case.data.decode("utf-8")
        except UnicodeDecodeError as error:
            if error.start < at:
                line_start, at = case.data.rfind(b"\n", 0, error.start) + 1, error.start
        for found in re.finditer(r"byte ([\d,]+)|第 ?([\d,]+) ?字节|字节 ?([\d,]+)", stderr):
            offset = int(next(g for g in found.groups() if g).replace(",", ""))
            if not line_start <= offset <= at + 4:
                where = "half way" if re.search(r"读取到|stops being", stderr) else "in the first look at the file"
                findings.append(Finding("wrong-offset", f"the message names another byte than the one that is not "
                                        f"text ({where})",
                                        f"bad bytes at {at} (line from {line_start}); the message: {found.group(0)}"
                                        f"\n{stderr[-1500:]}"))
                break
    policy = bundled_policy(case.policy)
    result_path = folder / f"results{case.output}"
    present = {Path(p).name: Path(p) for p in outputs(str(result_path)) if Path(p).exists()}
    # whole or absent
    whole = {}
    for name, path in present.items():
        problem = unreadable(path)
        if problem:
            findings.append(Finding("unreadable-output", f"{path.suffix} output is not whole: {mask(problem)}",
                                    f"{name}: {problem}"))
        whole[name] = problem is None
    if case.output != ".xlsx" and result_path.name in present:
        summary = [n for n in present if ".summary." in n]
        if not summary:
            findings.append(Finding("partial-output", "a results file without its summary",
                                    f"present: {sorted(present)}; exit {exit_code}"))
    if case.output == ".csv":
        for name, path in present.items():
            if not whole.get(name):
                continue
            for cells in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
                for cell in cells:
                    if cell.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(cell):
                        findings.append(Finding("formula", "a CSV output cell a spreadsheet reads as a formula",
                                                f"{name}: {cell[:80]!r}"))
                        break
                else:
                    continue
                break
    sheets = folder / "sheets"
    if case.sheets and sheets.is_dir():
        for page in sorted(sheets.iterdir()):
            try:
                html = page.read_text(encoding="utf-8")
                cut = "</html>" not in html[-200:]
            except (OSError, UnicodeError):
                cut = True
            if cut:
                findings.append(Finding("unreadable-output", "a calculation sheet (--sheets) is not whole",
                                        f"{page.name}: {page.stat().st_size} bytes"))
                break
    if case.output == ".xlsx" or not whole.get(result_path.name):
        return findings
    try:
        rows = read_results(result_path, policy)
    except (ValueError, KeyError, IndexError, InvalidOperation) as error:
        return findings + [Finding("unreadable-output", f"results do not have the documented shape: "
                                   f"{type(error).__name__}", str(error))]
    try:
        again = reparse(case, folder / f"round.{case.form}", policy)
    except Exception:  # the file cannot be read at all; only the originals are compared
        again = {}
    mismatches: list[str] = []
    for row in rows:
        checks = []
        if row["code"] in case.originals:
            checks.append(("the generated facts", case.originals[row["code"]]))
        if isinstance(row["row"], int) and row["row"] in again:
            checks.append(("the row read again", again[row["row"]]))
        for what, data in checks:
            expected = single(policy, data)
            if isinstance(expected, str):
                mismatches.append(f"row {row['row']}: batch evaluated it, a single check of {what} {expected}")
                continue
            view, total = expected
            for cid, (outcome, amount) in row["clauses"].items():
                want = view.get(cid)
                if want is None or want[0] != outcome or (want[1] is not None and amount is not None
                                                          and want[1] != amount) or \
                        ((want[1] is None) != (amount is None) and outcome == "eligible"):
                    mismatches.append(f"row {row['row']} clause {cid}: batch {outcome} {amount}, single evaluation "
                                      f"of {what} {want}")
            if row["total"] != total:
                mismatches.append(f"row {row['row']}: batch total {row['total']}, single evaluation of {what} {total}")
    if mismatches:
        kind = "refused" if all("single check" in m for m in mismatches) else "differs"
        findings.append(Finding("mismatch", f"a batch row {kind} from a single evaluation", "\n".join(mismatches[:20])))
    return findings


def unreadable(path: Path) -> str | None:
    """Why an output file is not whole (None: it parses to the end)."""
    try:
        data = path.read_bytes()
        if path.suffix == ".xlsx":
            from openpyxl import load_workbook

            book = load_workbook(path, read_only=True)
            for sheet in book.worksheets:
                for _ in sheet.iter_rows(values_only=True):
                    pass
            book.close()
            return None
        text = data.decode("utf-8")
        if path.suffix == ".json":
            json.loads(text)
            return None
        if not data:
            return "empty file" if path.suffix == ".csv" else None
        if not text.endswith("\n"):
            return "the last line is cut"
        if path.suffix == ".jsonl":
            for line in text.split("\n"):  # JSON Lines end at \n only (U+2028 and \r may be inside a string)
                if line.strip():
                    json.loads(line)
        else:
            list(csv.reader(io.StringIO(text), strict=True))
        return None
    except Exception as error:  # any way a reader fails is the finding
        return f"{type(error).__name__}: {str(error)[:200]}"


def run_batch_in_process(case: RoundCase, folder: Path) -> tuple[int, str, BaseException | None]:
    from click.testing import CliRunner

    import cli

    args = batch_argv(case, folder)[2:]
    result = CliRunner().invoke(cli.cli, args, catch_exceptions=True)
    if isinstance(result.exception, Hang):
        raise result.exception
    crash = result.exception if result.exception is not None and not isinstance(result.exception, SystemExit) \
        else None
    stderr = result.stderr if hasattr(result, "stderr") else result.output
    return (3 if crash is not None else result.exit_code), stderr, crash


class Hang(BaseException):
    """An in-process run took longer than the timeout (raised by an alarm in the main thread)."""


@contextlib.contextmanager
def alarm(seconds: float):
    import signal

    def ring(signum: int, frame: Any) -> None:
        raise Hang()

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def batch_argv(case: RoundCase, folder: Path) -> list[str]:
    return [sys.executable, str(ROOT / "cli.py"), "batch", str(ROOT / "policies" / f"{case.policy}.yaml"),
            str(folder / f"round.{case.form}"), "-o", str(folder / f"results{case.output}"), "--jobs", str(case.jobs),
            *(["--sheets", str(folder / "sheets")] if case.sheets else [])]


def run_batch_subprocess(case: RoundCase, folder: Path, timeout: float) -> tuple[int, str]:
    env = {**os.environ, "POLICY_CACHE": "0", "POLICY_DEBUG": "1", "PYTHONHASHSEED": "0"}
    try:
        done = subprocess.run(batch_argv(case, folder), capture_output=True, timeout=timeout, env=env, cwd=folder)
    except subprocess.TimeoutExpired:
        return -1, f"did not finish in {timeout:g} s"
    return done.returncode, done.stderr.decode("utf-8", "replace")


def batch_target(seed: int, seconds: float, out: Path, timeout: float = 60.0, cases: int | None = None,
                 subprocess_every: int = 8, checker: Callable[..., list[Finding]] | None = None) -> Recorder:
    """Fuzz `policy batch` for `seconds` (or `cases` inputs); findings saved under `out`. In-process runs use no
    compiled-policy cache; the environment is given back as it was (the test suite runs this in its own process)."""
    previous = os.environ.get("POLICY_CACHE")
    os.environ["POLICY_CACHE"] = "0"
    try:
        return _batch_target(seed, seconds, out, timeout, cases, subprocess_every, checker)
    finally:
        if previous is None:
            os.environ.pop("POLICY_CACHE", None)
        else:
            os.environ["POLICY_CACHE"] = previous


def _batch_target(seed: int, seconds: float, out: Path, timeout: float, cases: int | None,
                  subprocess_every: int, checker: Callable[..., list[Finding]] | None) -> Recorder:
    recorder = Recorder("batch", out)
    check = checker or check_round
    started = time.monotonic()
    deadline = started + seconds
    next_progress = started + 60
    index = 0
    while time.monotonic() < deadline and (cases is None or index < cases):
        try:
            case = make_round(seed, index, subprocess_every)
        except Exception as error:  # the fuzzer's own bug: said, counted, and the run goes on
            print(f"  fuzzer: batch input {index} (seed {seed}) could not be made: {error!r}", flush=True)
            recorder.codes["input not made (fuzzer bug)"] += 1
            index += 1
            continue
        index += 1
        recorder.inputs += 1
        if time.monotonic() >= next_progress:
            print(f"  [{time.monotonic() - started:.0f} s] batch: {recorder.inputs} inputs, "
                  f"{len(recorder.distinct)} distinct findings", flush=True)
            next_progress += 60
        folder = Path(tempfile.mkdtemp(prefix="policy-fuzz-batch-"))
        try:
            (folder / f"round.{case.form}").write_bytes(case.data)
            if case.subprocess:
                code, stderr = run_batch_subprocess(case, folder, timeout)
                crash = None
                recorder.runs["subprocess"] += 1
                if code == -1:
                    findings = [Finding("hang", f"batch did not finish in {timeout:g} s")]
                else:
                    findings = check(case, folder, code, stderr, crash)
            else:
                recorder.runs["in-process"] += 1
                try:
                    with alarm(timeout):
                        code, stderr, crash = run_batch_in_process(case, folder)
                        findings = check(case, folder, code, stderr, crash)
                except Hang:
                    code, findings = -1, [Finding("hang", f"batch (or its check) did not finish in {timeout:g} s")]
            recorder.codes[str(code)] += 1
            for finding in findings:
                recorder.add(finding, case.ops, lambda target, case=case, folder=folder: save_round(case, folder,
                                                                                                   target))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return recorder


def save_round(case: RoundCase, folder: Path, target: Path) -> str:
    (target / f"round.{case.form}").write_bytes(case.data)
    for name in os.listdir(folder):
        if name.startswith("results"):
            with contextlib.suppress(OSError):
                shutil.copy(folder / name, target / f"left-{name}")
    (target / "replay.sh").write_text(
        "#!/bin/sh\n# run from the project root with its virtualenv active\n"
        f'd="$(cd "$(dirname "$0")" && pwd)"; rm -rf "$d/out"; mkdir -p "$d/out"\n'
        f"POLICY_CACHE=0 POLICY_DEBUG=1 python cli.py batch policies/{case.policy}.yaml \"$d/round.{case.form}\" "
        f"-o \"$d/out/results{case.output}\" --jobs {case.jobs}"
        + (' --sheets "$d/out/sheets"' if case.sheets else "") + '; echo "exit $?"; ls -la "$d/out"\n',
        encoding="utf-8")
    return str(target)


# --- service --------------------------------------------------------------------------------------------------

@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    ops: list[str]
    route: str  # evaluate | facts-file | other
    policy: str | None = None
    same_as_json: str | None = None  # a YAML body's facts as JSON: both must give the same answer


METHODS = ["GET", "GET", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"]
MEDIA = ["application/json", "application/yaml", "text/yaml", "text/plain", "application/x-www-form-urlencoded",
         "multipart/form-data; boundary=x", "application/json; charset=gbk", "application/octet-stream", "",
         "application/xml", "text/html"]


def _yaml_text(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def make_request(seed: int, index: int, host: str) -> Request:
    from population import population

    rng = random.Random(f"{seed}:service:{index}")
    name = rng.choice(POLICIES)
    policy = bundled_policy(name)
    ops: list[str] = []
    kind = rng.choice(["evaluate", "evaluate", "evaluate", "facts-file", "facts-file", "get", "get", "odd"])
    pid = name if rng.random() < 0.9 else rng.choice(["nope", "broken-policy", "..%2F..%2Fetc", "ĳ" * 300,
                                                      name.upper(), name + "%00", "%ff", "policies"])
    if pid != name:
        ops.append(f"id:{pid[:20]}")
    if pid == "broken-policy":
        ops.append("broken-file")
    if kind == "evaluate":
        path, method = f"/policies/{pid}/evaluate", "POST"
    elif kind == "facts-file":
        path, method = f"/policies/{pid}/facts-file", "POST"
    elif kind == "get":
        path = rng.choice(["/", "/openapi.json", "/policies", f"/policies/{pid}", f"/policies/{pid}/facts-schema",
                           f"/policies/{pid}/form"])
        method = "GET"
        if path == "/policies":
            ops.append("broken-file")  # the served folder holds one
    else:
        path = rng.choice(["/policies/", "//policies", "/policies/x/y/z", "/%2e%2e/", "/static/../../etc/passwd",
                           f"/policies/{pid}/evaluate/", "/" + "a" * 5000, "/policies?x", "/\u00e9"])
        method = rng.choice(METHODS)
    if rng.random() < 0.15:
        method = rng.choice(METHODS)
        ops.append(f"method:{method}")
    route = {"evaluate": "evaluate", "facts-file": "facts-file"}.get(kind, "other")
    if method != "POST":
        route = "other"
    params = []
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        key = rng.choice(["lang", "trace", "format", "on", "x", "lang"])
        value = rng.choice({"lang": ["zh", "en", "fr", "1]", "", "ZH", "\u0000"],
                            "trace": ["true", "false", "1", "0", "yes", ""],
                            "format": ["json", "text", "yaml", "", "JSON"],
                            "on": ["2024-06-01", "2022-01-01", "2099-01-01", "0001-01-01", "2024-02-30", "x", ""],
                            "x": ["1", "%ff", "a" * 3000]}[key])
        params.append((key, value))
    from urllib.parse import quote

    query = "&".join(f"{quote(k)}={quote(v, safe='%')}" for k, v in params)
    if params:
        ops.append(f"query:{query[:40]}")
    headers = {"host": host}
    body = b""
    same_as_json = None
    if method in ("POST", "PUT", "PATCH") or rng.random() < 0.1:
        facts = plain(population(policy, 1, seed=rng.randrange(10**9))[0])
        body_kind = rng.choice(["json", "json", "json", "yaml", "yaml", "broken", "huge", "deep", "deep-yaml",
                                "many-yaml", "many-json", "bad-utf8", "bom", "surrogate", "e-number", "mutated",
                                "mutated", "empty", "scalar", "dup-key"])
        ops.append(f"body:{body_kind}")
        if body_kind == "mutated":
            mutate_facts(facts, rng, ops)
        if body_kind in ("json", "mutated"):
            text = json.dumps(facts, ensure_ascii=rng.random() < 0.3)
        elif body_kind == "yaml":
            text = _yaml_text(facts)
            same_as_json = json.dumps(facts)
        elif body_kind == "broken":
            text = json.dumps(facts)[: rng.randrange(1, 60)] if rng.random() < 0.5 else "applicant: [\n  - : :\n\t x"
        elif body_kind == "huge":
            text = json.dumps({**facts, "applicant": "x" * rng.choice([65_000, 70_000, 200_000])})
        elif body_kind == "deep":
            depth = rng.choice([31, 33, 50, 2000])
            text = json.dumps({**facts, "note": None}).replace('"note": null', '"note": ' + "[" * depth + "]" * depth)
        elif body_kind == "deep-yaml":
            depth = rng.choice([33, 50, 200])
            text = _yaml_text(facts) + "note: " + "[" * depth + "]" * depth + "\n"
        elif body_kind == "many-yaml":
            text = _yaml_text(facts) + "note:\n" + "".join(f"  - {i}\n" for i in range(rng.choice([1001, 3000])))
        elif body_kind == "many-json":
            text = json.dumps({**facts, "note": list(range(rng.choice([1001, 3000])))})
        elif body_kind == "bad-utf8":
            body = json.dumps(facts, ensure_ascii=False).encode("utf-8")[:-3] + b"\xff\xfe}"
            text = ""
        elif body_kind == "bom":
            text = "\ufeff" + json.dumps(facts)
        elif body_kind == "surrogate":
            facts["applicant"] = "\ud800"
            text = json.dumps(facts) if rng.random() < 0.5 else json.dumps(facts).replace("\\ud800", "\\udc00x")
        elif body_kind == "e-number":
            facts["applicant"] = rng.choice(["1e5", "12e3", "-1e2", "1e-3", "0x10", "1_000", "0o17", ".inf", "no",
                                             "~", "2024-01-01", "null", "1:30"])
            text = json.dumps(facts, ensure_ascii=False)
        elif body_kind == "empty":
            text = ""
        elif body_kind == "scalar":
            text = rng.choice(["1", "null", "[]", '"x"', "true", "- a\n- b\n"])
        else:
            text = json.dumps(facts)[:-1] + ', "applicant": "dup"}'
        if body_kind != "bad-utf8":
            body = text.encode("utf-8", "surrogatepass")
        headers["content-type"] = rng.choice(MEDIA) if rng.random() < 0.3 else (
            "application/yaml" if "yaml" in body_kind else "application/json")
    if rng.random() < 0.1:
        extra = rng.choice([("accept", "text/html"), ("accept-language", "en"), ("x-forwarded-host", host),
                            ("forwarded", f"host={host}"), ("content-encoding", "gzip"), ("transfer-encoding", "x"),
                            ("x-forwarded-proto", "javascript")])
        headers[extra[0]] = extra[1]
        ops.append(f"header:{extra[0]}")
    return Request(method, path, query, headers, body, ops, route, name if pid == name else None, same_as_json)


def mutate_facts(facts: dict[str, Any], rng: random.Random, ops: list[str]) -> None:
    values: list[Any] = [None, "", "-1", -1, "1e5", 1e308, 10**40, "99999999999999999999万元", "５０％", "50%%", True,
                         [], {}, "2024-02-30", "\u202e", "x" * 300, 0.1, "0.005", "NaN", "-0", [1] * 50]
    where = rng.choice(["facts", "top", "granted", "delete"])
    if where == "facts" and facts.get("facts"):
        key = rng.choice(list(facts["facts"]))
        facts["facts"][key] = rng.choice(values)
        ops.append(f"fact:{key}")
    elif where == "granted":
        facts["granted"] = rng.choice([{"x": 1}, {"1": "-5"}, "none", None, []])
        ops.append("granted")
    elif where == "delete" and facts:
        key = rng.choice(list(facts))
        facts.pop(key)
        ops.append(f"delete:{key}")
    else:
        key = rng.choice(["applicant", "recipient", "area", "date", "unknown"])
        facts[key] = rng.choice(values)
        ops.append(f"top:{key}")


def problems_shape(body: bytes, content_type: str) -> str | None:
    """Why an error response is not in the problems format (None: it is)."""
    if "json" not in content_type:
        return f"media type {content_type or 'none'}"
    try:
        data = json.loads(body)
    except ValueError:
        return "not JSON"
    if not isinstance(data, dict) or not isinstance(data.get("problems"), list) or not data["problems"]:
        return "no problems list"
    for p in data["problems"]:
        if not isinstance(p, dict) or not isinstance(p.get("message"), str) or not isinstance(p.get("text"), str):
            return "a problem without message and text"
    return None


def _bounds(data: Any, depth: int = 32, items: int = 1000) -> str | None:
    stack = [(data, 0)]
    while stack:
        value, level = stack.pop()
        if level > depth:
            return "deeper than the limit"
        if isinstance(value, (list, dict)) and len(value) > items:
            return "more entries than the limit"
        if isinstance(value, dict):
            stack.extend((v, level + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, level + 1) for v in value)
    return None


def expected_evaluation(policy: Any, text: str, on: str | None) -> Any:
    """engine.evaluate of the facts the request's body holds (JSON, or a facts file's YAML)."""
    import datetime as dt

    from engine import applicant_from_text, check_facts, evaluate
    from engine.core.errors import PolicyError

    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    applicant = None
    if isinstance(data, dict):
        with contextlib.suppress(PolicyError):
            applicant = check_facts(policy, data, "oracle")
    if applicant is None:
        applicant = applicant_from_text(policy, text, name="oracle")
    return evaluate(policy, applicant, on=dt.date.fromisoformat(on) if on else None, trace=False)


def compare_json(policy: Any, body: bytes, result: Any) -> list[str]:
    data = json.loads(body)
    view, total = clause_view(policy, result)
    problems = []
    got = {c["id"]: (c.get("outcome"), c.get("amount")) for c in data.get("clauses", [])}
    for cid, (outcome, amount) in view.items():
        have = got.get(cid)
        if have is None:
            problems.append(f"clause {cid} missing from the response")
            continue
        if have[0] != outcome or (amount is not None and (have[1] is None or Decimal(have[1]) != amount)):
            problems.append(f"clause {cid}: service {have}, engine.evaluate {(outcome, amount)}")
    if Decimal(data["total"]["amount"]) != total:
        problems.append(f"total: service {data['total']['amount']}, engine.evaluate {total}")
    return problems


def check_response(request: Request, status: int, headers: dict[str, str], body: bytes, crash: BaseException | None,
                   secrets: list[str], limits: Any = None) -> list[Finding]:
    from urllib.parse import parse_qs

    findings: list[Finding] = []
    if crash is not None:
        signature, where = crash_signature(crash)
        findings.append(Finding("5xx", f"{request.route} {request.method}: {signature}", f"at {where}\n" + "".join(
            traceback.format_exception(type(crash), crash, crash.__traceback__))[-3000:]))
        return findings
    content_type = headers.get("content-type", "")
    if status >= 500 and status != 503:
        findings.append(Finding("5xx", f"{request.route} {request.method}: status {status}", body[:500].decode(
            "utf-8", "replace")))
    if status >= 400 and request.method != "HEAD":
        why = problems_shape(body, content_type)
        if why:
            findings.append(Finding("not-problems", f"{status} not in the problems format: {why}",
                                    body[:500].decode("utf-8", "replace")))
    if status == 405 and "allow" not in {k.lower() for k in headers}:
        findings.append(Finding("no-allow", "405 without an Allow header", f"{request.method} {request.path}"))
    text = body.decode("utf-8", "replace") + "\n" + "\n".join(f"{k}: {v}" for k, v in headers.items())
    for secret in secrets:
        if secret and secret in text:
            what = "the Host header's value" if secret == request.headers.get("host") else "an absolute server path"
            check = "host-echo" if what.startswith("the Host") else "path-leak"
            at = text.index(secret)
            route = request.route if request.route != "other" else request.path.split("/")[1]
            findings.append(Finding(check, f"{route} response holds {what}", text[max(0, at - 200): at + 200]))
            break
    query = {k: v[-1] for k, v in parse_qs(request.query, keep_blank_values=True).items()}
    policy = bundled_policy(request.policy) if request.policy else None
    if request.method == "POST" and request.route in ("evaluate", "facts-file") and policy is not None:
        text_body = None
        with contextlib.suppress(UnicodeDecodeError):
            text_body = request.body.decode("utf-8")
        if text_body is not None and status in (200, 422) and len(request.body) <= 64 * 1024:
            try:
                parsed = json.loads(text_body)
            except (ValueError, RecursionError):
                try:
                    parsed = yaml.safe_load(text_body)
                except Exception:  # not YAML either: nothing to bound
                    parsed = None
            over = _bounds(parsed) if parsed is not None else None
            if over:
                findings.append(Finding("limits", f"{request.route}: a body {over} gets {status}, not 413",
                                        f"{request.ops}"))
        if status == 200 and request.route == "evaluate" and query.get("format", "json") == "json":
            on = query.get("on") or None
            try:
                result = expected_evaluation(policy, text_body or "", on)
                problems = compare_json(policy, body, result)
            except Exception as error:  # the engine refuses what the service evaluated
                problems = [f"engine.evaluate of the same facts fails: {type(error).__name__}: {error}"[:300]]
            if not problems and request.same_as_json is not None:
                try:
                    problems = [f"as JSON: {p}" for p in compare_json(
                        policy, body, expected_evaluation(policy, request.same_as_json, on))]
                except Exception as error:  # the same facts as JSON are refused
                    problems = [f"engine.evaluate of the same facts as JSON fails: {type(error).__name__}: "
                                f"{error}"[:300]]
            if problems:
                findings.append(Finding("mismatch", "a 200 evaluate differs from engine.evaluate of the same facts"
                                        if not problems[0].startswith("engine.evaluate") else
                                        "the service evaluated facts engine.evaluate refuses", "\n".join(problems)))
        if status == 200 and request.route == "facts-file":
            try:
                written = body.decode("utf-8")
                again = expected_evaluation(policy, written, None)
                first = expected_evaluation(policy, text_body or "", None)
                problems = compare_json(policy, json.dumps(result_json(policy, again)).encode(), first)
            except Exception as error:  # the written file does not read back
                problems = [f"the facts file does not read back: {type(error).__name__}: {str(error)[:200]}"]
            if problems:
                findings.append(Finding("round-trip", "a facts file the service wrote does not read back to the "
                                                      "same result", "\n".join(problems)))
    return findings


def result_json(policy: Any, result: Any) -> dict[str, Any]:
    view, total = clause_view(policy, result)
    return {"clauses": [{"id": cid, "outcome": o, "amount": None if a is None else str(a)} for cid, (o, a) in
                        view.items()], "total": {"amount": str(total)}}


def service_folder() -> Path:
    """A copy of the bundled policies and one broken file, to serve."""
    folder = Path(tempfile.mkdtemp(prefix="policy-fuzz-serve-"))
    for name in POLICIES:
        shutil.copy(ROOT / "policies" / f"{name}.yaml", folder)
    text = (ROOT / "policies" / f"{POLICIES[0]}.yaml").read_text(encoding="utf-8")
    (folder / "broken-policy.yaml").write_text(text.replace("id: ", "id broken: [", 1) + "\n  : :\n",
                                               encoding="utf-8")
    return folder


def send(client: Any, request: Request) -> tuple[int, dict[str, str], bytes, BaseException | None]:
    url = request.path + (f"?{request.query}" if request.query else "")
    try:
        response = client.request(request.method, url, headers=request.headers, content=request.body or None)
    except Exception as error:  # a crash inside the app is a finding
        return 500, {}, b"", error
    return response.status_code, dict(response.headers), response.content, None


def service_target(seed: int, seconds: float, out: Path, cases: int | None = None,
                   checker: Callable[..., list[Finding]] | None = None) -> Recorder:
    from starlette.testclient import TestClient

    from engine.service.app import create_app

    recorder = Recorder("service", out)
    check = checker or check_response
    folder = service_folder()
    try:
        app = create_app(folder)
        secrets_base = [str(folder), str(ROOT), str(Path.home()) + "/", "/tmp/"]
        deadline = time.monotonic() + seconds
        index = 0
        with TestClient(app, raise_server_exceptions=True) as client:
            while time.monotonic() < deadline and (cases is None or index < cases):
                host = f"evil-{seed}-{index}.example"
                request = make_request(seed, index, host)
                index += 1
                recorder.inputs += 1
                status, headers, body, crash = send(client, request)
                recorder.runs[f"{request.method} {request.route}"] += 1
                recorder.codes[str(status) if crash is None else "crash"] += 1
                for finding in check(request, status, headers, body, crash, [host, *secrets_base]):
                    recorder.add(finding, request.ops, lambda target, r=request, s=status, h=headers, b=body:
                                 save_request(r, s, h, b, target))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return recorder


REPLAY = '''"""Replays this request through the service in-process; run from the project root, virtualenv active."""
import base64, json, shutil, sys, tempfile
from pathlib import Path
sys.path.insert(0, "scripts")
from fuzz_targets import service_folder
from starlette.testclient import TestClient
from engine.service.app import create_app
r = json.loads((Path(__file__).parent / "request.json").read_text())
folder = service_folder()
try:
    with TestClient(create_app(folder), raise_server_exceptions=False) as client:
        url = r["path"] + ("?" + r["query"] if r["query"] else "")
        body = base64.b64decode(r["body_base64"]) or None
        resp = client.request(r["method"], url, headers=r["headers"], content=body)
        print(resp.status_code, dict(resp.headers))
        print(resp.text[:3000])
finally:
    shutil.rmtree(folder, ignore_errors=True)
'''


def save_request(request: Request, status: int, headers: dict[str, str], body: bytes, target: Path) -> str:
    (target / "request.json").write_text(json.dumps(
        {"method": request.method, "path": request.path, "query": request.query, "headers": request.headers,
         "body_base64": base64.b64encode(request.body).decode(), "ops": request.ops}, indent=2,
        ensure_ascii=False), encoding="utf-8")
    (target / "body.bin").write_bytes(request.body)
    (target / "response.txt").write_bytes(f"{status}\n{json.dumps(headers)}\n\n".encode() + body[:20000])
    (target / "replay.py").write_text(REPLAY, encoding="utf-8")
    curl = ["curl", "-sS", "-X", request.method]
    for k, v in request.headers.items():
        curl += ["-H", f"{k}: {v}"]
    curl += ["--data-binary", "@body.bin", f"http://127.0.0.1:PORT{request.path}" +
             (f"?{request.query}" if request.query else "")]
    (target / "curl.sh").write_text("#!/bin/sh\n# against `policy serve` of a copy of policies/ (set PORT)\n"
                                    + " ".join(shlex.quote(a) for a in curl) + "\n", encoding="utf-8")
    return str(target)
