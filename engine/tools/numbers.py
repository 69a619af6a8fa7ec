"""The numbers a source sentence states (500万元, 50%, 1万平米, 三年) and those a rule is written with, for lint."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

# What a multiplier or a unit written after a number does to it. 万元 and 万 are one multiplier and a unit.
_MULTIPLIERS = {"": Decimal(1), "百": Decimal(100), "千": Decimal(1000), "万": Decimal(10_000),
                "十万": Decimal(100_000), "百万": Decimal(1_000_000), "千万": Decimal(10_000_000),
                "亿": Decimal(100_000_000), "万亿": Decimal(10) ** 12}
_FRACTIONS = {"%": Decimal("0.01"), "‰": Decimal("0.001")}
_CURRENCIES = {"元": "CNY", "美元": "USD"}
_MONTHS_A_YEAR = Decimal(12)

_WIDE = str.maketrans("０１２３４５６７８９％．，", "0123456789%.,")

# What looks like a number in a sentence but is not one the rule could use, blanked before numbers are read
# (blanked, not removed, so that positions stay those of the sentence):
_NOT_AMOUNTS = re.compile("|".join((
    r"[〔［\[(（]\s*(?:19|20)\d\d\s*[〕］\])）]\s*(?:第\s*)?\d*\s*号?",  # 丽政办发〔2021〕67号
    r"(?<!\d)(?:19|20)\d\d\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?)?",  # 2022年2月1日, 2022年 (not 2年)
    r"(?<!\d)\d{1,2}\s*月\s*\d{1,2}\s*[日号]",  # 2月1日
    r"(?<!\d)(?:19|20)\d\d\s*[-/.]\s*\d{1,2}(?:\s*[-/.]\s*\d{1,2})?(?![\d万亿元%])",  # 2022-02-01, 2022.2
    r"第\s*[\d一二三四五六七八九十百千零〇两]+",  # 第二条, 第3款: ordinals
    r"[（(]\s*[\d一二三四五六七八九十]+\s*[）)]",  # （二）, (1): list markers
    r"(?:^|(?<=[\n。；;：:]))\s*(?:\d+(?:\.\d+)+\s|\d+\s*[、．]|\d+\.(?!\d))",  # 2.1 …, 1、… opening a sentence
    r"[A-Za-z]+\d+[A-Za-z\d]*|\d+[A-Za-z]+",  # B2B, O2O, 5G, ISO9001
)))

_UNIT = r"(?P<mult>万亿|千万|百万|十万|万|亿|千)?\s*(?P<unit>美元|元|%|‰)?"
_ARABIC = re.compile(r"(?<![\d.,])(?P<n>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<f>\d+))?\s*" + _UNIT
                     + r"(?P<span>\s*(?:个月|年|月))?")
# 半 is not read: 半年 is rarely a bound written as a number in a rule.
_CN_DIGITS = "零〇一二两三四五六七八九"
_CHINESE = re.compile(rf"(?P<pct>百分之|千分之)?(?P<n>[{_CN_DIGITS}十百千万亿]+)\s*"
                      r"(?P<unit>美元|元)?(?P<span>\s*(?:个月|年|月))?")


@dataclass(frozen=True)
class TextNumber:
    """A number a sentence states: what it can stand for, and how the sentence writes it.

    `values` has more than one value where the sentence is read more than one way: 三年 is 3 (years) and 36
    (months); the 10 of 10-20万元 is 10 and 100,000. `reported` is False for what is only matched, never
    reported as unused: numbers written in words (一年, 一次性, 一带一路) and a bare 1 (每新增1家).
    """

    values: frozenset[Decimal]
    shown: str
    start: int
    currency: str | None = None
    reported: bool = True


def numbers_in(text: str) -> list[TextNumber]:
    """The numbers `text` states, in order of position: amounts (500万元, 500 万元, ５００万元), rates (50%,
    百分之五十), counts, areas (1万平米) and spans (2年内, 36个月, 三年); not dates, years, document numbers, ordinals
    or list markers."""
    wide = text.translate(_WIDE)
    plain = _NOT_AMOUNTS.sub(lambda m: " " * len(m.group()), wide)
    found: list[TextNumber] = []
    for m in _ARABIC.finditer(plain):
        digits = m["n"].replace(",", "") + (f".{m['f']}" if m["f"] else "")
        mult, unit = m["mult"] or "", m["unit"] or ""
        value = Decimal(digits) * _MULTIPLIERS[mult] * _FRACTIONS.get(unit, Decimal(1))
        values = {value} | _spans(value, m["span"])
        if not mult and not unit:  # 10-20万元, 20、50万元: a number before a range takes the unit after it
            after = _ARABIC.match(plain, _skip_range(plain, m.end()))
            if after is not None and after.start() > m.end() and (after["mult"] or after["unit"]):
                values.add(Decimal(digits) * _MULTIPLIERS[after["mult"] or ""]
                           * _FRACTIONS.get(after["unit"] or "", Decimal(1)))
        bare_one = value == 1 and not mult and not unit and not m["span"]
        found.append(TextNumber(frozenset(values), wide[m.start():m.end()].strip(), m.start(),
                                _CURRENCIES.get(unit), reported=not bare_one))
    for m in _CHINESE.finditer(plain):
        if m.start() and plain[m.start() - 1] == "第":
            continue
        number = _chinese(m["n"])
        if number is None:
            continue
        if m["pct"]:
            number *= _FRACTIONS["%" if m["pct"] == "百分之" else "‰"]
        values = {number} | _spans(number, m["span"])
        found.append(TextNumber(frozenset(values), wide[m.start():m.end()].strip(), m.start(),
                                _CURRENCIES.get(m["unit"] or ""), reported=False))
    return sorted(found, key=lambda n: n.start)


def _spans(value: Decimal, span: str | None) -> set[Decimal]:
    """A span in years is also read in months (三年 ↔ 36): rules count months where texts say years."""
    return {value * _MONTHS_A_YEAR} if span and span.strip() == "年" else set()


def _skip_range(text: str, end: int) -> int:
    """Where the next number starts when `end` is followed by a range or list mark (-, 至, 、), else `end`."""
    m = re.compile(r"\s*(?:-|–|—|~|～|至|到|、|或)\s*").match(text, end)
    return m.end() if m and m.end() > end else end


def _chinese(words: str) -> Decimal | None:
    """三 → 3, 三十 → 30, 一百二十 → 120, 五千万 → 50,000,000; None for what is not a number."""
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
    small = {"十": 10, "百": 100, "千": 1000}
    big = {"万": 10_000, "亿": 100_000_000}
    total, section, digit = 0, 0, None
    for ch in words:
        if ch in digits:
            if digit is not None and digit != 0 and digits[ch] != 0:
                return None  # 一二 is a list, not a number
            digit = digits[ch]
        elif ch in small:
            section += (1 if digit is None else digit) * small[ch]
            digit = None
        else:
            if digit is None and section == 0:
                return None  # 万 alone
            section += digit or 0
            total = (total + section) * big[ch]
            section, digit = 0, None
    return Decimal(total + section + (digit or 0))


# A number as a rule writes it: digits with an optional unit, in an expression or a value. Quoted text is
# skipped (date('2024-01-01')); a name with digits (rate2) is not a number.
_LITERAL = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*"
                      r"(万亿元|万美元|亿美元|美元|万元|亿元|元|万|亿|%)?")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_LITERAL_UNITS = {"": (Decimal(1), None), "元": (Decimal(1), "CNY"), "万元": (Decimal(10_000), "CNY"),
                  "亿元": (Decimal(100_000_000), "CNY"), "万亿元": (Decimal(10) ** 12, "CNY"),
                  "万": (Decimal(10_000), None), "亿": (Decimal(100_000_000), None),
                  "%": (Decimal("0.01"), None), "美元": (Decimal(1), "USD"),
                  "万美元": (Decimal(10_000), "USD"), "亿美元": (Decimal(100_000_000), "USD")}


@dataclass(frozen=True)
class Literal:
    """A number written in a rule: its value, its currency where its unit says one, and how it is written."""

    value: Decimal
    shown: str
    currency: str | None = None


def literals_in(expression: str) -> list[Literal]:
    """The numbers written in an expression or value (`cbec_turnover >= 500万元` → 5,000,000 written 500万元)."""
    text = _QUOTED.sub(lambda m: " " * len(m.group()), expression)
    # A code the text states as a number, compared as text (海关监管方式 customs_mode in ['9610', '9710']), is used.
    out = [Literal(Decimal(m.group()[1:-1]), m.group(), None) for m in _QUOTED.finditer(expression)
           if m.group()[1:-1].isascii() and m.group()[1:-1].isdigit()]
    for m in _LITERAL.finditer(text):
        scale, currency = _LITERAL_UNITS[m[2] or ""]
        out.append(Literal(Decimal(m[1].replace(",", "")) * scale, m.group().strip(), currency))
    return out


def matches(value: Decimal, currency: str | None, number: TextNumber) -> bool:
    """Whether a rule's number is one the sentence states: the same value, and the same currency when both
    say one (500万元 is not 500万美元)."""
    return value in number.values and (currency is None or number.currency is None or currency == number.currency)
