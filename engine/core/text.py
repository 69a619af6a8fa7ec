"""The one check of text for characters no one means to write: control characters and lone surrogates."""

from __future__ import annotations

import re
import unicodedata

# C0 controls but tab, line feed and carriage return; DEL; C1 controls but NEL; UTF-16 surrogates, which
# are not characters (a JSON or YAML escape such as "\ud800" makes one); and the two noncharacters U+FFFE,
# U+FFFF. None can be printed or stored as UTF-8 reliably, and none is in any document an officer writes.
_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


def unwanted(text: str) -> int | None:
    """The offset of the first unwanted character in `text`, or None when there is none."""
    found = _UNWANTED.search(text)
    return found.start() if found else None


def name_of(char: str) -> str:
    """U+0001, with its Unicode name where it has one: how a message names an invisible character."""
    code = f"U+{ord(char):04X}"
    if 0xD800 <= ord(char) <= 0xDFFF:
        return f"{code} (lone surrogate)"
    name = unicodedata.name(char, "")
    return f"{code} ({name})" if name else code


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of `offset` in `text`."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def identity(text: str) -> str:
    """What a name identifies, as it is compared everywhere names are compared (list identities, grants
    matched to a claim, the ledger's object keys): Unicode NFKC, so full-width and half-width forms are equal
    (丽水示例海外仓（迪拜） is 丽水示例海外仓(迪拜), ＡＢＣ is ABC); spaces and letter case are typing, not another
    thing (丽水 某公司 is 丽水某公司; 91331100ma… is 91331100MA…)."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold().upper()
