"""One message catalogue in Chinese and English: complete, consistent, and the only source of problem text."""

from __future__ import annotations

import ast
import pickle
import string
from pathlib import Path

import pytest

from engine.core.errors import Problem
from engine.core.messages import CATALOGUE, LANGS, localize, msg, t
from engine.tools.testing import load_suite

ENGINE = Path(__file__).resolve().parent.parent / "engine"


def _placeholders(text: str) -> set[str]:
    return {field for _literal, field, _spec, _conv in string.Formatter().parse(text) if field is not None}


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_message_has_both_languages_with_the_same_placeholders(key):
    entry = CATALOGUE[key]
    assert set(entry) == set(LANGS), key
    for lang in LANGS:
        assert entry[lang].strip() or entry[lang] in (" ",), f"{key}: empty {lang}"
    assert _placeholders(entry["zh"]) == _placeholders(entry["en"]), key


def test_message_is_its_english_text():
    m = msg("schema.unknown_key", key="rat")
    assert m == "unknown key 'rat'"
    assert "unknown key" in m
    assert isinstance(m, str) and m.key == "schema.unknown_key" and m.values == {"key": "rat"}
    assert m.localized("zh") == "未知的键 'rat'"
    assert m.localized("en") == m.localized(None) == "unknown key 'rat'"
    assert pickle.loads(pickle.dumps(m)).localized("zh") == "未知的键 'rat'"


def test_nested_messages_follow_the_outer_language():
    m = msg("schema.type", name="rate", words=msg("schema.type.number"), kind=msg("schema.kind.text", value="x"))
    assert m == "'rate' must be a number, not the text 'x'"
    assert m.localized("zh") == "'rate' 应为数字，而不是文字 'x'"


def test_localize_leaves_plain_text_alone():
    assert localize("plain", "zh") == "plain"
    assert localize(None, "zh") is None
    assert t("outcome.eligible", "zh") == "符合"


def test_problem_format_in_each_language():
    p = Problem(msg("schema.unknown_key", key="rat"), file="p.yaml", line=3, column=5, path=("award", "rat"),
                clause="2.1", suggestion=msg("suggest.did_you_mean", match="rate"))
    english = "p.yaml:3:5: error: unknown key 'rat' (at $.award.rat, clause 2.1)\n    hint: did you mean 'rate'?"
    assert p.format() == p.format("en") == english
    zh = p.format("zh")
    assert zh.startswith("p.yaml:3:5: 错误：未知的键 'rat'")
    assert "是否应为 'rate'？" in zh and "第 2.1 项" in zh
    assert p.to_json()["message"] == "unknown key 'rat'" and p.to_json("zh")["suggestion"] == "是否应为 'rate'？"


# --- no message text outside the catalogue ------------------------------------------------------------

# Calls whose first argument (and `suggestion=`/`hint=`) is text an officer reads.
_MESSAGE_CALLS = {"Problem", "ExpressionError", "problem", "error", "add", "fail", "_problem", "_Reject",
                  "LookupFailed", "AmountSyntaxError", "EvaluationFailure"}
_SELF_ONLY = {"add", "error", "fail"}
# Where the message and its suggestion sit among positional arguments, when not first.
_POSITIONS = {"fail": (1, 2), "_problem": (2, 3), "ExpressionError": (0, 2), "LookupFailed": (0, 1),
              "error": (0, 3)}




def _is_key(value: str, module: str) -> bool:
    return value in CATALOGUE or f"{module}.{value}" in CATALOGUE


def _prose(node: ast.AST, module: str) -> ast.AST | None:
    """The part of a message argument that is text written in the code, if any."""
    if isinstance(node, ast.JoinedStr):
        return node
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return None if _is_key(node.value, module) else node
    if isinstance(node, ast.BinOp):
        return _prose(node.left, module) or _prose(node.right, module) if any(
            isinstance(n, (ast.JoinedStr, ast.Constant)) and isinstance(getattr(n, "value", ""), str)
            for n in (node.left, node.right)) else None
    if isinstance(node, ast.IfExp):
        return _prose(node.body, module) or _prose(node.orelse, module)
    if isinstance(node, ast.BoolOp):
        return next((p for v in node.values if (p := _prose(v, module))), None)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and isinstance(node.func.value, ast.Constant) and node.func.attr == "format":
        return node
    return None


def test_no_engine_module_writes_a_message_inline():
    found = []
    for path in sorted(ENGINE.rglob("*.py")):  # every layer (core, syntax, lang, ...), not only engine/*.py
        module = path.stem
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else \
                node.func.attr if isinstance(node.func, ast.Attribute) else None
            if name not in _MESSAGE_CALLS:
                continue
            if name in _SELF_ONLY and not (isinstance(node.func, ast.Attribute)
                                           and isinstance(node.func.value, ast.Name) and node.func.value.id == "self"):
                continue  # e.g. set.add: not a message
            args = [node.args[i] for i in _POSITIONS.get(name, (0,)) if i < len(node.args)]
            args += [k.value for k in node.keywords if k.arg in ("message", "suggestion", "hint")]
            for arg in args:
                bad = _prose(arg, module)
                if bad is not None:
                    found.append(f"{path.relative_to(ENGINE)}:{bad.lineno}: {ast.unparse(bad)[:70]}")
    assert not found, "messages must come from msg(...) and the catalogue:\n" + "\n".join(found)


# --- the officer's language on the command line ------------------------------------------------------

ROOT = ENGINE.parent
LISHUI = ROOT / "policies" / "lishui-2021-67.yaml"
DATONG = ROOT / "policies" / "datong-2021-46.yaml"
BROKEN = ROOT / "tests" / "broken" / "misspelt-key.yaml"


def policy(*args: object):
    from click.testing import CliRunner

    from cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def test_validate_speaks_chinese_by_default_and_english_on_request():
    zh = policy("validate", BROKEN).output
    assert f"{BROKEN}:50:7: 错误：未知的键 'rat'（位置 $.clauses[0].award.rat）" in zh
    assert "提示：是否应为 'rate'？" in zh and "1 个文件中有 1 个不合格。" in zh
    assert "unknown key" not in zh
    en = policy("validate", "--lang", "en", BROKEN).output
    assert f"{BROKEN}:50:7: error: unknown key 'rat' (at $.clauses[0].award.rat)" in en
    assert "hint: did you mean 'rate'?" in en and "1 of 1 file invalid." in en


def test_a_broken_file_declaring_english_is_reported_in_english(tmp_path):
    broken = tmp_path / "broken.yaml"
    text = BROKEN.read_text(encoding="utf-8")
    broken.write_text(text.replace("\nid:", "\nlanguage: en\nid:", 1), encoding="utf-8")
    assert "language: en" in broken.read_text(encoding="utf-8")
    out = policy("validate", broken).output
    assert ": error: unknown key 'rat'" in out
    assert policy("validate", "--lang", "zh", broken).output.count("未知的键 'rat'") == 1


def test_validate_json_follows_the_language():
    import json

    [report] = json.loads(policy("validate", "--format", "json", BROKEN).output)
    assert report["problems"][0]["message"] == "未知的键 'rat'"
    [report] = json.loads(policy("validate", "--format", "json", "--lang", "en", BROKEN).output)
    assert report["problems"][0]["message"] == "unknown key 'rat'"


def test_lint_in_both_languages():
    zh = policy("lint", LISHUI, "--today", "2026-11-28").output
    assert "警告：本文件将于 2027-01-31 失效，距 2026-11-28 还有 64 天" in zh
    assert "提示：请安排续订" in zh and f"{LISHUI}：1 个警告" in zh
    en = policy("lint", LISHUI, "--today", "2026-11-28", "--lang", "en").output
    assert "warning: the policy expires on 2027-01-31, in 64 days" in en and f"{LISHUI}: 1 warning" in en


def test_test_failures_and_coverage_in_both_languages(tmp_path):
    import shutil

    changed = tmp_path / "datong-2021-46.yaml"
    changed.write_text(DATONG.read_text(encoding="utf-8").replace("annual_turnover > 5000万元",
                                                                  "annual_turnover >= 5000万元"), encoding="utf-8")
    shutil.copy(DATONG.with_name("datong-2021-46.tests.yaml"), tmp_path / "datong-2021-46.tests.yaml")
    zh = policy("test", changed).output
    assert "未通过 年交易额恰好5000万元" in zh and "应为" in zh and "实际为" in zh
    n = len(load_suite(str(DATONG.with_name("datong-2021-46.tests.yaml"))).cases)
    assert f"共 {n} 个案例：通过 {n - 1} 个，未通过 1 个" in zh
    assert "passed" not in zh  # one language: CI reads `N passed, N failed` from `--lang en`
    assert "个案例的覆盖情况" in zh
    en = policy("test", changed, "--lang", "en").output
    assert "FAIL 年交易额恰好5000万元" in en and "expected" in en and f"Coverage of {n} cases" in en
    assert f"{n - 1} passed, 1 failed" in en.splitlines() and "个案例" not in en


def test_evaluate_errors_follow_the_policy_language():
    out = policy("evaluate", LISHUI, "missing-facts.yaml").output
    assert "missing-facts.yaml: 错误：找不到文件：missing-facts.yaml" in out and "共发现 1 个问题。" in out
    out = policy("evaluate", LISHUI, "missing-facts.yaml", "--lang", "en").output
    assert "missing-facts.yaml: error: no such file: missing-facts.yaml" in out and "1 problem found." in out
