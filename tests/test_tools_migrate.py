"""`policy migrate`: a file of an earlier language version rewritten in today's with the meaning it had, a comment
beside each change, the author's comments and text kept; its own cases pass after it as they did before."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine import PolicyError, load_policy, load_suite, run_suite
from engine.syntax import versions
from engine.syntax.loader import load_file

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "versions"


@pytest.fixture
def copies(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "versions")
    return tmp_path / "versions"


def _cases(folder: Path, name: str) -> list[bool]:
    policy = load_policy(str(folder / f"{name}.yaml"))
    return [o.passed for o in run_suite(policy, load_suite(str(folder / f"{name}.tests.yaml")))]


def test_a_first_version_file_keeps_its_meaning_after_migrate(copies: Path):
    before = (copies / "v1.yaml").read_text(encoding="utf-8")
    run = CliRunner().invoke(cli, ["migrate", str(copies / "v1.yaml")])
    assert run.exit_code == 0, run.output
    assert "由语言第 1 版改写为第 3 版，2 处改动" in run.output
    after = (copies / "v1.yaml").read_text(encoding="utf-8")
    # The cases its author wrote in version 1 (a running total; a group held by a yearly member) pass.
    assert _cases(copies, "v1") == [True, True]
    # Today's words for the old meaning, a comment above each, and every comment of the author's kept.
    assert "    period: lifetime" in after and "    earlier: hold" in after and "    period: once" not in after
    assert after.count("# policy migrate（语言第 1 版 → 第 3 版）") == 2
    assert after.startswith("# A policy written in the first version") and "# 第1版：累计不超过10万元" in after
    assert [line for line in before.splitlines() if line.startswith("#")] == \
        [line for line in after.splitlines() if line.startswith("#")]
    data = load_file(str(copies / "v1.yaml")).data
    assert isinstance(data, dict) and versions.declared(data) == versions.CURRENT


def test_the_old_words_read_today_would_answer_differently(copies: Path):
    """What migrate protects against: the same words read with today's meaning fail the author's own cases."""
    path = copies / "v1.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("language_version: 1", "language_version: 3"),
                    encoding="utf-8")
    assert _cases(copies, "v1") == [False, False]


def test_migrate_again_changes_nothing(copies: Path):
    CliRunner().invoke(cli, ["migrate", str(copies / "v1.yaml")])
    once = (copies / "v1.yaml").read_text(encoding="utf-8")
    run = CliRunner().invoke(cli, ["migrate", str(copies / "v1.yaml")])
    assert run.exit_code == 0 and "已是语言第 3 版" in run.output
    assert (copies / "v1.yaml").read_text(encoding="utf-8") == once


def test_a_second_version_file_only_says_its_new_version(copies: Path):
    before = (copies / "v2.yaml").read_text(encoding="utf-8")
    run = CliRunner().invoke(cli, ["migrate", str(copies / "v2.yaml")])
    assert run.exit_code == 0, run.output
    after = (copies / "v2.yaml").read_text(encoding="utf-8")
    assert after.replace("language_version: 3  # policy migrate：本文件写于语言第 3 版", "language_version: 2") \
        == before
    assert _cases(copies, "v2") == [True]


def test_a_file_that_does_not_say_needs_from_and_is_left_alone_until_then(copies: Path):
    path = copies / "v1.yaml"
    text = path.read_text(encoding="utf-8").replace("language_version: 1\n", "")
    path.write_text(text, encoding="utf-8")
    run = CliRunner().invoke(cli, ["migrate", str(path), "--lang", "en"])
    assert run.exit_code == 1 and "does not say its language_version" in run.output and "--from" in run.output
    assert path.read_text(encoding="utf-8") == text
    run = CliRunner().invoke(cli, ["migrate", str(path), "--from", "1"])
    assert run.exit_code == 0, run.output
    assert _cases(copies, "v1") == [True, True]


def test_from_disagreeing_with_the_file_is_refused(copies: Path):
    run = CliRunner().invoke(cli, ["migrate", str(copies / "v1.yaml"), "--from", "2", "--lang", "en"])
    assert run.exit_code == 1 and "says language_version: 1, not --from 2" in run.output
    assert (copies / "v1.yaml").read_text(encoding="utf-8") == (FIXTURES / "v1.yaml").read_text(encoding="utf-8")


def test_a_group_today_cannot_say_exactly_is_given_the_nearest_words_and_named(copies: Path):
    path = copies / "v1.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    cap: 8万元\n    period: year\n", "    cap: 8万元\n    period: claim\n"),
                    encoding="utf-8")
    run = CliRunner().invoke(cli, ["migrate", str(path), "--lang", "en"])
    assert run.exit_code == 0, run.output
    check = [line for line in run.output.splitlines() if "check:" in line]
    assert len(check) == 1 and check[0].startswith(f"{path}:") and "only members counted per year (2.1)" in check[0]


def test_a_flow_entry_gets_its_comment_on_the_line_above(tmp_path: Path):
    path = tmp_path / "flow.yaml"
    path.write_text((FIXTURES / "v2.yaml").read_text(encoding="utf-8").replace("language_version: 2",
                                                                                "language_version: 1")
                    + "  - {id: \"3\", title: 三, recipient: firm, award: {fixed: 1万元}, cap: 2万元, period: once}\n",
                    encoding="utf-8")
    run = CliRunner().invoke(cli, ["migrate", str(path)])
    assert run.exit_code == 0, run.output
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if 'id: "3"' in line)
    assert lines[at - 1].startswith("  # policy migrate") and "period: lifetime" in lines[at]
    assert load_policy(str(path)).clauses[2].period == "lifetime"


def test_a_file_that_cannot_be_read_is_not_touched(tmp_path: Path):
    path = tmp_path / "broken.yaml"
    path.write_text("language_version: 1\nid: x\nclauses: [\n", encoding="utf-8")
    run = CliRunner().invoke(cli, ["migrate", str(path)])
    assert run.exit_code == 1 and "Traceback" not in run.output
    assert path.read_text(encoding="utf-8") == "language_version: 1\nid: x\nclauses: [\n"
    with pytest.raises(PolicyError):
        load_policy(str(path))


def test_a_json_policy_is_not_rewritten_but_each_change_is_named_where_it_is(tmp_path: Path):
    import json

    from engine.syntax.loader import load_file as load

    data = load(str(FIXTURES / "v1.yaml")).data
    path = tmp_path / "v1.json"
    text = json.dumps(data, ensure_ascii=False, indent=2, default=lambda d: int(d) if d == int(d) else float(d))
    path.write_text(text, encoding="utf-8")
    run = CliRunner().invoke(cli, ["migrate", str(path), "--lang", "en"])
    assert run.exit_code == 1 and "Traceback" not in run.output
    assert "a JSON file has no comments" in run.output and "write period: lifetime" in run.output
    assert "write earlier: hold" in run.output
    assert path.read_text(encoding="utf-8") == text


def test_a_county_file_and_its_city_are_migrated_each_in_its_own_version(tmp_path: Path):
    shutil.copy(FIXTURES / "v1.yaml", tmp_path / "city.yaml")
    county = tmp_path / "county.yaml"
    county.write_text("language_version: 1\nid: county\nextends: city.yaml\ndocument: 县〔2021〕1号\ntitle: 县\n"
                      "clauses:\n  - id: \"1\"\n    title: 一次性补助\n    recipient: firm\n"
                      "    award: {base: costs, rate: 40%}\n    cap: 8万元\n    period: once\n", encoding="utf-8")
    run = CliRunner().invoke(cli, ["migrate", str(county)])
    assert run.exit_code == 0, run.output
    with pytest.raises(PolicyError) as caught:  # the city's own words still wait for the city's migration
        load_policy(str(county))
    assert all(p.file == str(tmp_path / "city.yaml") for p in caught.value.problems)
    assert CliRunner().invoke(cli, ["migrate", str(tmp_path / "city.yaml")]).exit_code == 0
    policy = load_policy(str(county))
    assert policy.clauses[0].period == "lifetime" and [g.earlier for g in policy.groups] == ["hold"]


def test_a_file_that_does_not_say_but_reads_alike_in_every_version_only_gets_its_version(tmp_path: Path):
    text = (FIXTURES / "v2.yaml").read_text(encoding="utf-8").replace("language_version: 2\n", "")
    text = text.replace("    period: once   # 第2版起：只付一次\n", "")
    path = tmp_path / "plain.yaml"
    path.write_text(text, encoding="utf-8")
    run = CliRunner().invoke(cli, ["migrate", str(path), "--lang", "en"])
    assert run.exit_code == 0 and "language_version: 3 written" in run.output
    after = path.read_text(encoding="utf-8")
    # the comment is in the policy's language (zh here), as every comment migrate writes
    assert after.replace("language_version: 3  # policy migrate：本文件写于语言第 3 版\n", "") == text


def test_from_3_declares_a_file_written_for_todays_language(tmp_path: Path):
    text = (FIXTURES / "v2.yaml").read_text(encoding="utf-8").replace("language_version: 2\n", "")
    path = tmp_path / "today.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError):  # period: once with a cap, and no version said
        load_policy(str(path))
    run = CliRunner().invoke(cli, ["migrate", str(path), "--from", "3", "--lang", "en"])
    assert run.exit_code == 0 and "language_version: 3 written" in run.output, run.output
    policy = load_policy(str(path))
    assert policy.clauses[0].period == "once"  # read as written, in today's meaning
