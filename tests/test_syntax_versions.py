"""Language versions: a policy file says the version it is written in, and words whose meaning changed since
are never read with today's meaning silently (refused, naming the change and `policy migrate`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine import PolicyError, load_policy, load_suite, run_suite
from engine.syntax import versions
from engine.syntax.loader import load_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "versions"
SHIPPED = sorted(p for p in [*ROOT.glob("policies/*.yaml"), *ROOT.glob("policies/examples/*.yaml")]
                 if not p.name.endswith(".tests.yaml"))


@pytest.fixture
def copies(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "versions")
    return tmp_path / "versions"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_policy_says_it_is_written_in_todays_version(path: Path):
    data = load_file(str(path)).data
    assert isinstance(data, dict) and versions.declared(data) == versions.CURRENT


def test_a_first_version_file_is_refused_naming_each_change_and_the_command(copies: Path):
    path = str(copies / "v1.yaml")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    problems = caught.value.problems
    assert [p.line for p in problems] == [22, 36]  # period: once of clause 1; the group platform
    assert "clause 1 has period: once and a cap" in problems[0].message and "period: lifetime" in problems[0].message
    assert "group platform does not say earlier:" in problems[1].message and "earlier: hold" in problems[1].message
    assert all(f"policy migrate {path}" in (p.suggestion or "") for p in problems)


def test_the_refusal_is_worded_in_the_officers_language_without_a_traceback(copies: Path):
    run = CliRunner().invoke(cli, ["evaluate", str(copies / "v1.yaml"), str(ROOT / "examples" / "seller.yaml")])
    assert run.exit_code == 1, run.output
    assert "此文件写于语言第 1 版" in run.output and f"运行 policy migrate {copies / 'v1.yaml'}" in run.output
    assert "Traceback" not in run.output


def test_a_second_version_file_reads_as_it_did(copies: Path):
    policy = load_policy(str(copies / "v2.yaml"))
    outcomes = run_suite(policy, load_suite(str(copies / "v2.tests.yaml")))
    assert outcomes and all(o.passed for o in outcomes)


def test_a_file_that_does_not_say_is_refused_only_where_versions_differ(tmp_path: Path):
    text = (FIXTURES / "v2.yaml").read_text(encoding="utf-8").replace("language_version: 2\n", "")
    unsaid = tmp_path / "unsaid.yaml"
    unsaid.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(unsaid))
    [problem] = caught.value.problems
    assert "does not say which version of the language" in problem.message and problem.line == 17
    assert "language_version: 3" in (problem.suggestion or "") and "policy migrate" in (problem.suggestion or "")
    # Without the words whose meaning changed, every version reads it alike: read as it is.
    plain = tmp_path / "plain.yaml"
    plain.write_text(text.replace("    period: once   # 第2版起：只付一次\n", ""), encoding="utf-8")
    assert [c.id for c in load_policy(str(plain)).clauses] == ["1", "2"]


def test_a_version_this_engine_does_not_know_is_refused(tmp_path: Path):
    path = tmp_path / "newer.yaml"
    path.write_text((FIXTURES / "v2.yaml").read_text(encoding="utf-8").replace("language_version: 2",
                                                                               "language_version: 9"),
                    encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(path))
    assert "version 9" in caught.value.format("en") and caught.value.problems[0].line == 2


def test_a_county_file_is_read_in_its_own_version_and_its_city_in_the_citys(tmp_path: Path):
    city = (FIXTURES / "v2.yaml").read_text(encoding="utf-8").replace("language_version: 2", "language_version: 3")
    (tmp_path / "city.yaml").write_text(city, encoding="utf-8")
    county = ("language_version: {v}\nid: county\nextends: city.yaml\ndocument: 县〔2021〕1号\ntitle: 县\n"
              "clauses:\n  - id: \"1\"\n    title: 一次性补助\n    recipient: firm\n    award: {{fixed: 1万元}}\n"
              "    cap: 5万元\n    period: once\n")
    (tmp_path / "county.yaml").write_text(county.format(v=1), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(str(tmp_path / "county.yaml"))
    [problem] = caught.value.problems  # the county's own words; the city's once (today's) is not questioned
    assert problem.file == str(tmp_path / "county.yaml") and problem.line == 12
    assert "running total" in problem.message and "policy migrate" in (problem.suggestion or "")
    (tmp_path / "county.yaml").write_text(county.format(v=3), encoding="utf-8")
    clause = load_policy(str(tmp_path / "county.yaml")).clauses[0]
    assert clause.period == "once" and clause.cap is not None


def test_findings_name_todays_words_for_the_old_meaning():
    base = {"clauses": [{"id": "a", "period": "year"}, {"id": "b", "period": "once"}, {"id": "c"}]}
    only_yearly = {**base, "groups": [{"id": "g", "members": ["a"], "pick": "first"}]}
    none_yearly = {**base, "groups": [{"id": "g", "members": ["b", "c"], "pick": "best"}]}
    mixed = {**base, "groups": [{"id": "g", "members": ["a", "b"], "pick": "best"}]}
    stacking = {**base, "groups": [{"id": "g", "members": ["a", "b"], "pick": "all"}]}
    said = {**base, "groups": [{"id": "g", "members": ["a", "b"], "pick": "best", "earlier": "top_up"}]}
    assert [(f.value, f.exact) for f in versions.findings(only_yearly, 1)] == [("hold", True)]
    assert [(f.value, f.exact) for f in versions.findings(none_yearly, 1)] == [("separate", True)]
    assert [(f.value, f.exact) for f in versions.findings(mixed, 1)] == [("hold", False)]
    assert versions.findings(stacking, 1) == versions.findings(said, 1) == []
    assert versions.findings(mixed, 2) == []  # nothing changed meaning between versions 2 and 3
    assert versions.findings({"clauses": [{"id": "x", "period": "once"}]}, 1) == []  # once without a cap: once


def test_a_forked_county_file_says_it_is_written_in_todays_version(tmp_path: Path):
    out = tmp_path / "county.yaml"
    run = CliRunner().invoke(cli, ["fork", str(ROOT / "policies" / "lishui-2021-67.yaml"), "--id", "county-x",
                                   "--jurisdiction", "青田县", "-o", str(out)])
    assert run.exit_code == 0, run.output
    data = load_file(str(out)).data
    assert isinstance(data, dict) and versions.declared(data) == versions.CURRENT


def test_every_change_of_meaning_is_in_the_versions_table_of_the_docs():
    docs = (ROOT / "docs" / "language.md").read_text(encoding="utf-8").split("## Language versions")[1]
    written = {versions.ONCE_WITH_CAP: "`period: once` on a clause with a `cap:`",
               versions.GROUP_EARLIER: "a group with `pick: best` or `first` and no `earlier:`"}
    assert set(written) == set(versions.CHANGES)
    for change, words in written.items():
        assert f"| {change.since} | {words} |" in docs


def test_a_policy_a_ledger_recorded_before_files_said_their_version_replays_as_decided(tmp_path: Path):
    """Decisions recorded before language_version: existed were made reading the file in version 2: replaying
    them under the stored policy reads it so, rather than refusing what every such ledger holds."""
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from ledger_support import code, decisions_of, warehouse

    from engine.ledger import PolicyRecord, open_ledger
    from engine.ledger.replay import replay

    lishui = ROOT / "policies" / "lishui-2021-67.yaml"
    policy = load_policy(str(lishui))
    old = tmp_path / "recorded" / lishui.name
    old.parent.mkdir()
    old.write_text(lishui.read_text(encoding="utf-8").replace("language_version: 3\n", ""), encoding="utf-8")
    with pytest.raises(PolicyError):  # the same text given today, unsaid, is refused (period: once with a cap)
        load_policy(str(old))
    record = PolicyRecord.from_files(policy.id, [str(old)])
    path = str(tmp_path / "grants.db")
    with open_ledger(path, create=True) as ledger:
        ledger.record_round("r1", policy=record, engine_version="before", decisions=decisions_of(
            policy, [(code(1), warehouse(1, "一号仓", 2025))]))
    with open_ledger(path) as ledger:
        report = replay(ledger, round_id="r1", policies=[str(ROOT / "policies")])
    (only,) = report.decisions
    assert only.stored.same and only.stored.total == 500000
