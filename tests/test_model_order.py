"""The order clauses are decided in (engine.model.order): a loop through an exclusive group is the compiler's
to find (`policy validate`), not the runtime's."""

from __future__ import annotations

from click.testing import CliRunner

from cli import cli

HEAD = """id: grouploop
document: 测试
title: t
in_force: {from: 2020-01-01}
money: {currency: CNY, round_to: 0.01, rounding: half_up}
recipients: {s: {label: s}}
"""


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def write(tmp_path, clauses: str, groups: str):
    policy = tmp_path / "policy.yaml"
    policy.write_text(HEAD + "clauses:\n" + clauses + "groups:\n" + groups + "language_version: 3\n", encoding="utf-8")
    return policy


def test_a_member_requiring_another_member_of_its_exclusive_group_is_refused_by_validate(tmp_path):
    policy = write(tmp_path,
                   "  - {id: '2.1', title: t, recipient: s, award: {fixed: 1}, requires: ['2.2']}\n"
                   "  - {id: '2.2', title: t, recipient: s, award: {fixed: 2}}\n",
                   "  - {id: g, members: ['2.1', '2.2'], pick: best}\n")
    result = run("validate", str(policy), "--lang", "en")
    assert result.exit_code == 1, result.output
    assert result.output.count("error:") == 1
    assert "policy.yaml:8:" in result.output  # at clause 2.1, the first clause of the loop
    assert "exclusive group 'g' (2.1, 2.2): 2.1 → 2.2 (g) → 2.1" in result.output
    assert "take the requirement out" in result.output
    zh = run("validate", str(policy), "--lang", "zh")
    assert zh.exit_code == 1 and "互斥组“g”" in zh.output


def test_the_loop_may_pass_through_a_clause_outside_the_group(tmp_path):
    policy = write(tmp_path,
                   "  - {id: a, title: t, recipient: s, award: {fixed: 1}, requires: [x]}\n"
                   "  - {id: b, title: t, recipient: s, award: {fixed: 2}}\n"
                   "  - {id: x, title: t, recipient: s, award: {fixed: 3}, requires: [b]}\n",
                   "  - {id: g, members: [a, b], pick: first}\n")
    result = run("validate", str(policy), "--lang", "en")
    assert result.exit_code == 1 and "a → x → b (g) → a" in result.output, result.output


def test_needing_a_member_from_outside_the_group_is_no_loop(tmp_path):
    policy = write(tmp_path,
                   "  - {id: a, title: t, recipient: s, award: {fixed: 1}}\n"
                   "  - {id: b, title: t, recipient: s, award: {fixed: 2}}\n"
                   "  - {id: x, title: t, recipient: s, award: {fixed: 3}, requires: [b]}\n",
                   "  - {id: g, members: [a, b], pick: best}\n")
    assert run("validate", str(policy)).exit_code == 0
    facts = tmp_path / "facts.yaml"
    facts.write_text("recipient: s\nfacts: {}\n", encoding="utf-8")
    result = run("evaluate", str(policy), str(facts), "--lang", "en")
    assert result.exit_code == 0, result.output


def test_a_pick_all_group_waits_for_nothing(tmp_path):
    policy = write(tmp_path,
                   "  - {id: a, title: t, recipient: s, award: {fixed: 1}, requires: [b]}\n"
                   "  - {id: b, title: t, recipient: s, award: {fixed: 2}}\n",
                   "  - {id: g, members: [a, b], pick: all}\n")
    assert run("validate", str(policy)).exit_code == 0
