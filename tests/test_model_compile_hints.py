"""Compiling a policy (engine/model/compile.py): hints for what officers reach for (issue 21)."""

from __future__ import annotations

import pytest

from engine import load_policy
from engine.core.errors import PolicyError

POLICY = """\
id: hint-test
document: 测试〔2024〕1号
title: 测试
in_force: {from: 2020-01-01}
money: {currency: CNY, round_to: 0.01, rounding: half_up}
recipients: {enterprise: {label: 企业}}
clauses:
  - id: "1"
    title: 落户奖励
    recipient: enterprise
    award: AWARD
"""


@pytest.mark.parametrize(("award", "shown"), [("{amount: 10万元}", "10万元"), ("{amount: 100000, mode: on_top}", "100000")])
def test_amount_without_bonus_to_hints_at_fixed(tmp_path, award, shown):
    path = tmp_path / "p.yaml"
    path.write_text(POLICY.replace("AWARD", award), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    assert f"hint: a fixed award is written fixed: {shown}; amount: is for a bonus on another clause" \
        in caught.value.format("en")
    assert f"提示：定额补助写 fixed: {shown}" in caught.value.format("zh")


def test_a_bonus_missing_only_its_amount_gets_no_fixed_hint(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(POLICY.replace("AWARD", "{bonus_to: '1'}"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    assert "also needs 'amount'" in caught.value.format("en") and "fixed:" not in caught.value.format("en")
