"""Recipients' identity: the 统一社会信用代码 (unified social credit code) and its check character.

GB 32100-2015 《法人和其他组织统一社会信用代码编码规则》: 18 characters from a 31-character alphabet (the
digits and the capital letters without I, O, S, V and Z, which read like digits). The 18th is a check character:
with each of the first 17 characters' value (its place in the alphabet) multiplied by the weight 3^(i-1) mod 31,
C18 = 31 - (Σ mod 31), and a result of 31 is written 0.

The check character is python-stdnum's (stdnum.cn.uscc, a maintained library of identifier checks); the rest is
ours, for two reasons: our messages say which character is wrong and what the check character should be, and
stdnum's `validate` wants the first eight characters to be digits, which refuses codes whose registering
authority is a letter (N, the agricultural authority's, on rural collective organisations' codes; Y, others).
"""

from __future__ import annotations

from dataclasses import dataclass

from stdnum.cn import uscc

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^(i-1) mod 31, i = 1..17
LENGTH = 18
_IN_ALPHABET = frozenset(ALPHABET)
assert WEIGHTS == tuple(pow(3, i, 31) for i in range(17))


def check_character(first17: str) -> str:
    """The check character of the first 17 characters (each in ALPHABET)."""
    return str(uscc.calc_check_digit(first17))


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
            if char not in _IN_ALPHABET:
                return CodeProblem("character", char=char, position=position)
    expected = check_character(code[:17])
    if code[17] != expected:
        return CodeProblem("check", char=code[17], expected=expected, position=LENGTH)
    return None


def is_valid(text: str) -> bool:
    return problem(normalise(text)) is None


def make_code(first17: str) -> str:
    """A valid code from its first 17 characters: for synthetic applicants and tests."""
    return first17 + check_character(first17)
