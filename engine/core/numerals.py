"""Amounts in Chinese numerals as finance writes them (三十万元, 壹拾万元整, 贰佰叁拾肆元伍角陆分), read exactly."""

from __future__ import annotations

import re
from decimal import Context, Decimal, localcontext

from engine.core.messages import Message, msg

# Digits in everyday (一二三) and financial (大写: 壹贰叁) forms; 两 is 2 before a unit (两万).
DIGITS = {"零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "貳": 2, "两": 2, "兩": 2, "三": 3, "叁": 3, "參": 3,
          "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6, "七": 7, "柒": 7, "八": 8, "捌": 8,
          "九": 9, "玖": 9}
SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
BIG_UNITS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
POINT = {"点", "點"}
YUAN = {"元", "圆", "圓"}
# Other currencies an amount may name after its number (三十万美元), as engine.core.amounts.CURRENCIES words them.
OTHER_CURRENCIES = ("美元", "欧元", "港元", "日元", "英镑")
WHOLE = {"整", "正"}  # 壹拾万元整: no 角 or 分 follow

NUMERAL_CHARS = "".join([*DIGITS, *SMALL_UNITS, *BIG_UNITS])
# A JSON Schema pattern (and a findable form) for text written this way: what the schema lets through; the reading
# below says exactly what is wrong with anything else.
PATTERN = (rf"\s*(?:人民币)?(?:[{NUMERAL_CHARS}点點]+(?:[元圆圓](?:[{NUMERAL_CHARS}]+[角分])*[整正]?|"
           rf"{'|'.join(OTHER_CURRENCIES)})?|(?:[{NUMERAL_CHARS}]+[角分])+[整正]?)\s*")
_EXACT = Context(prec=60)  # every amount in range (16 + 12 digits) is exact
_HAS_NUMERAL = re.compile(rf"[{NUMERAL_CHARS}]")


class NotNumeral(ValueError):
    """Text with Chinese numerals that is not an amount; `message` says why (a catalogue message)."""

    def __init__(self, message: Message):
        super().__init__(message)
        self.message = message


def written_in_numerals(text: str) -> bool:
    """True when `text` uses Chinese numerals at all (the caller then reads it here, or explains why not)."""
    return bool(_HAS_NUMERAL.search(text))


MAX_LENGTH = 40  # 玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿…元玖角玖分 fits; a longer text is no amount anyone writes


def read(text: str) -> tuple[Decimal, str | None]:
    if len(text) > MAX_LENGTH:  # and the reading, which recurses once per 万 or 亿, stays shallow
        raise NotNumeral(msg("numerals.too_long", limit=MAX_LENGTH))
    value, currency = _read(text)
    return (value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()), currency


def _read(text: str) -> tuple[Decimal, str | None]:
    """The exact value of an amount in Chinese numerals, and the currency word after it (元, 美元) or None.

    三十万元 → (300000, 元); 壹拾万元整 → (100000, 元); 贰佰叁拾肆元伍角陆分 → (234.56, 元); 一万零五 → 10005;
    三点五万 → 35000. Refused (NotNumeral): digits read one by one (二零二四), a unit out of order (一百千), a
    colloquial shortening whose value is a guess (一万五: 10005 or 15000?), 角 or 分 without 元 in a 元 amount.
    """
    rest = text.strip().removeprefix("人民币")
    currency: str | None = None
    for word in OTHER_CURRENCIES:
        if rest.endswith(word):
            rest, currency = rest[: -len(word)], word
            break
    else:
        at = next((i for i, c in enumerate(rest) if c in YUAN), -1)
        with localcontext(_EXACT):
            if at >= 0:
                whole, tail = rest[:at], rest[at + 1:]
                return _number(whole) + _jiao_fen(tail), "元"
            if rest.endswith(("角", "分", "角整", "角正")):  # 伍角, 伍分: less than one 元
                return _jiao_fen(rest), "元"
    if rest.endswith(tuple(WHOLE)):
        raise NotNumeral(msg("numerals.whole"))
    with localcontext(_EXACT):
        return _number(rest), currency


def _jiao_fen(tail: str) -> Decimal:
    """What follows 元: nothing, 整, or 角 and 分 (伍角陆分, 零陆分, 伍角整)."""
    if tail in WHOLE or not tail:
        return Decimal(0)
    if tail[-1] in WHOLE:
        tail = tail[:-1]
        if tail.endswith("分"):
            raise NotNumeral(msg("numerals.whole"))
    value = Decimal(0)
    found = re.fullmatch(rf"零?(?:([{''.join(DIGITS)}])角)?零?(?:([{''.join(DIGITS)}])分)?", tail)
    if not found or not (found.group(1) or found.group(2)):
        raise NotNumeral(msg("numerals.jiao_fen"))
    if found.group(1):
        value += Decimal(DIGITS[found.group(1)]) / 10
    if found.group(2):
        value += Decimal(DIGITS[found.group(2)]) / 100
    return value


def _number(text: str) -> Decimal:
    """A number in Chinese numerals, with an optional 点 and digits after it (三点五万 is 35000)."""
    if not text:
        raise NotNumeral(msg("numerals.no_number"))
    whole, point, fraction = text, "", ""
    for mark in POINT:
        if mark in text:
            whole, point, fraction = text.partition(mark)
            break
    if not point:
        return Decimal(_integer(whole))
    # 三点五万: the fraction's own 万 or 亿 scales the whole number written.
    scale = 1
    while fraction and fraction[-1] in BIG_UNITS:
        scale *= BIG_UNITS[fraction[-1]]
        fraction = fraction[:-1]
    if not fraction or any(c not in DIGITS or c in "两兩" for c in fraction):
        raise NotNumeral(msg("numerals.after_point"))
    digits = "".join(str(DIGITS[c]) for c in fraction)
    return (Decimal(_integer(whole)) + Decimal("0." + digits)) * scale


def _integer(text: str) -> int:
    """A whole number: sections below 万 joined by 万 and 亿 (一万亿零三百)."""
    if not text:
        raise NotNumeral(msg("numerals.no_number"))
    for unit_chars, size in ((("亿", "億"), 10**8), (("万", "萬"), 10**4)):
        at = max(text.rfind(c) for c in unit_chars)
        if at >= 0:
            high, low = text[:at], text[at + 1:]
            if not high:
                raise NotNumeral(msg("numerals.no_number"))
            upper = _integer(high)
            lower = _below(low, size)
            return upper * size + lower
    return _section(text)


def _below(text: str, size: int) -> int:
    """What follows a 万 or 亿: less than it; a gap of places is marked with 零 (一万零五), never guessed."""
    if not text:
        return 0
    value = _integer(text.removeprefix("零").removeprefix("〇"))
    if value >= size:
        raise NotNumeral(msg("numerals.order"))
    if text[0] not in "零〇" and value and value * 10 < size and not _leads_with_unit(text, size):
        raise NotNumeral(msg("numerals.shortened"))
    return value


def _leads_with_unit(text: str, size: int) -> bool:
    """Whether `text` (after 万 or 亿) fills the place just below it: 一万五千 yes, 一万五 no, 一亿三千万 yes."""
    place = 0
    for c in text:
        if c in SMALL_UNITS:
            place = max(place, SMALL_UNITS[c])
        if c in BIG_UNITS:
            return True
    return place * 10 >= size


def _section(text: str) -> int:
    """A number below 10,000: digit-unit pairs in falling order (三千零五十), 十 alone at the start (十五)."""
    value = 0
    digit: int | None = None
    last_unit = 10**4
    zero = False
    for i, c in enumerate(text):
        if c in DIGITS:
            if c in "零〇":
                if digit is not None:
                    raise NotNumeral(msg("numerals.one_by_one"))
                if i == 0 and len(text) > 1:
                    raise NotNumeral(msg("numerals.zero"))
                zero = True
                continue
            if digit is not None:
                raise NotNumeral(msg("numerals.one_by_one"))
            digit = DIGITS[c]
        elif c in SMALL_UNITS:
            unit = SMALL_UNITS[c]
            if unit >= last_unit:
                raise NotNumeral(msg("numerals.order"))
            if digit is None:
                if unit != 10 or i != 0:
                    raise NotNumeral(msg("numerals.digit_before", unit=c))
                digit = 1
            if zero and unit * 10 >= last_unit:
                raise NotNumeral(msg("numerals.zero"))
            value += digit * unit
            digit, last_unit, zero = None, unit, False
        else:
            raise NotNumeral(msg("numerals.not_numeral", char=c))
    if digit is not None:
        if last_unit > 10 and last_unit != 10**4 and not zero:
            raise NotNumeral(msg("numerals.shortened"))
        value += digit
    elif text in ("零", "〇"):
        return 0
    return value
