"""engine.workspace is the one place policy, facts and tests files are found and read: the served folder and
--policies agree on what a policy file is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from starlette.testclient import TestClient

from engine import Library, create_app, policy_files

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"id": "small-json", "document": "测试", "title": "t", "in_force": {"from": "2020-01-01"},
         "money": {"currency": "CNY", "round_to": 0.01, "rounding": "half_up"}, "recipients": {"s": {"label": "s"}},
         "clauses": [{"id": "a", "title": "t", "recipient": "s", "award": {"fixed": 1}}]}


def test_the_served_folder_and_the_library_agree_on_what_a_policy_file_is(tmp_path):
    shutil.copy(ROOT / "policies" / "lishui-2021-67.yaml", tmp_path / "lishui.yaml")
    (tmp_path / "small.json").write_text(json.dumps(SMALL, ensure_ascii=False), encoding="utf-8")
    shutil.copy(ROOT / "examples" / "seller.yaml", tmp_path / "seller.facts.yaml")
    shutil.copy(ROOT / "policies" / "lishui-2021-67.tests.yaml", tmp_path / "lishui.tests.yaml")
    (tmp_path / "lishui.facts.schema.json").write_text("{}", encoding="utf-8")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.yaml").write_text("id: x\n", encoding="utf-8")

    assert [Path(f).name for f in policy_files(tmp_path)] == ["lishui.yaml", "small.json"]
    assert Library([str(tmp_path)]).find_id("small-json") == str(tmp_path / "small.json")
    body = TestClient(create_app(tmp_path)).get("/policies").json()
    assert {p["id"] for p in body["policies"]} == {"lishui-2021-67", "small-json"}
    assert body["invalid"] == []
