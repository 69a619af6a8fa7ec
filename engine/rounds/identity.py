"""Recipients' identity: the 统一社会信用代码 (unified social credit code) and its check character.

GB 32100-2015 《法人和其他组织统一社会信用代码编码规则》: 18 characters from a 31-character alphabet (the
digits and the capital letters without I, O, S, V and Z, which read like digits). The 18th is a check character:
with each of the first 17 characters' value (its place in the alphabet) multiplied by the weight 3^(i-1) mod 31,
C18 = 31 - (Σ mod 31), and a result of 31 is written 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import mul

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUE = {char: i for i, char in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^(i-1) mod 31, i = 1..17
LENGTH = 18
_IN_ALPHABET = frozenset(ALPHABET)
assert WEIGHTS == tuple(pow(3, i, 31) for i in range(17))


def check_character(first17: str) -> str:
    """The check character of the first 17 characters (each in ALPHABET)."""
    total = sum(VALUE[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


@dataclass(frozen=True)
class CodeProblem:
    """Why a text is not a credit code: `kind` is length | character | check; the details a message shows."""

    kind: str
    length: int = 0
    char: str = ""
    position: int = 0
    expected: str = ""


def normalise(text: str) -> str:
    """A code as typed, without surrounding spaces and with lower-case letters raised (codes are capitals)."""
    return text.strip().upper()


def problem(code: str) -> CodeProblem | None:
    """None for a valid code (already normalised), else what is wrong with it."""
    if len(code) != LENGTH:
        return CodeProblem("length", length=len(code))
    if not _IN_ALPHABET.issuperset(code):
        for position, char in enumerate(code, 1):
            if char not in VALUE:
                return CodeProblem("character", char=char, position=position)
    # check_character, for 17 characters known to be in the alphabet (a round checks one code per row)
    expected = ALPHABET[(31 - sum(map(mul, map(VALUE.__getitem__, code[:17]), WEIGHTS)) % 31) % 31]
    if code[17] != expected:
        return CodeProblem("check", char=code[17], expected=expected, position=LENGTH)
    return None


def is_valid(text: str) -> bool:
    return problem(normalise(text)) is None


def make_code(first17: str) -> str:
    """A valid code from its first 17 characters: for synthetic applicants and tests."""
    return first17 + check_character(first17)
