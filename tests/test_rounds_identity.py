"""The 统一社会信用代码 check character (GB 32100-2015), as a round checks each applicant's code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.rounds.identity import ALPHABET, WEIGHTS, check_character, is_valid, make_code, problem

# The standard's example code and a code printed on a business licence, each checked by hand with the weights
# below (Σ(value × weight) mod 31 gives the 18th character), and the template's example code.
KNOWN_VALID = ["91350100M000100Y43", "911100001000044477", make_code("91331100MA2A0B1C2")]


def test_alphabet_and_weights_are_the_standards():
    assert ALPHABET == "0123456789ABCDEFGHJKLMNPQRTUWXY" and len(ALPHABET) == 31
    assert not set("IOSVZ") & set(ALPHABET)
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def test_worked_example():
    # 9 1 3 5 0 1 0 0 M(21) 0 0 0 1 0 0 Y(30) 4 with the weights: sum 400; 400 mod 31 = 28; 31 - 28 = 3.
    assert check_character("91350100M000100Y4") == "3"


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_known_codes_are_valid(code):
    assert is_valid(code)
    assert is_valid(code.lower() + "  ")  # typed in lower case, with spaces: the same code


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_every_other_check_character_is_refused(code):
    for char in ALPHABET:
        if char != code[-1]:
            found = problem(code[:-1] + char)
            assert found is not None and found.kind == "check" and found.expected == code[-1]


def test_length_and_characters():
    assert problem("91350100M000100Y4").kind == "length"
    found = problem("91350100M000100O43")  # the letter O, which codes never use
    assert found.kind == "character" and found.position == 16 and found.char == "O"


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17))
def test_a_made_code_is_valid_and_one_changed_character_is_not(first17):
    code = make_code(first17)
    assert is_valid(code)
    # Changing any one of the first 17 characters changes the check (31 is prime and every weight is non-zero).
    position = sum(map(ord, first17)) % 17
    other = ALPHABET[(ALPHABET.index(first17[position]) + 1) % 31]
    assert not is_valid(first17[:position] + other + first17[position + 1:] + code[-1])


def test_a_code_whose_registering_authority_is_a_letter_is_accepted():
    # A rural collective organisation's code starts with N (the agricultural authority): stdnum.cn.uscc.validate
    # wants eight digits first and would refuse it; our check does not.
    from stdnum.cn import uscc

    code = make_code("N2330100MA2A0B0C1")
    assert is_valid(code) and problem(code) is None
    assert code[17] == uscc.calc_check_digit(code[:17])
    assert not uscc.is_valid(code)
