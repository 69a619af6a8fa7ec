"""A county repository stands alone: `policy fork` copies the schemas its editors need into the repository and
points the county file's `$schema` line at them relatively, so it resolves in any clone; `policy schemas DIR` copies
(and updates) them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner

from cli import cli

ROOT = Path(__file__).resolve().parent.parent
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "县商务局", "GIT_AUTHOR_EMAIL": "officer@example.invalid",
           "GIT_COMMITTER_NAME": "县商务局", "GIT_COMMITTER_EMAIL": "officer@example.invalid",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=GIT_ENV, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def schema_line(path: Path) -> str:
    found = re.match(r"# yaml-language-server: \$schema=(\S+)", path.read_text(encoding="utf-8"))
    assert found, path.read_text(encoding="utf-8")[:200]
    return found.group(1)


def test_fork_puts_the_schemas_in_the_county_repo_and_the_schema_line_resolves_in_a_clone(tmp_path):
    county = tmp_path / "qingtian"
    (county / "policies" / "city").mkdir(parents=True)
    git(county, "init", "-q")
    shutil.copy(ROOT / "policies" / "lishui-2021-67.yaml", county / "policies" / "city" / "lishui-2021-67.yaml")
    out = county / "policies" / "qingtian-2022-5.yaml"
    run = CliRunner().invoke(cli, ["fork", str(county / "policies" / "city" / "lishui-2021-67.yaml"),
                                   "--id", "qingtian-2022-5", "--jurisdiction", "青田县", "-o", str(out)])
    assert run.exit_code == 0, run.output
    assert schema_line(out) == "../schemas/policy.schema.json"  # into the repository, never the engine's folder
    for name in ("policy.schema.json", "tests.schema.json"):
        assert (county / "schemas" / name).read_text(encoding="utf-8") == (ROOT / "schemas" / name).read_text(
            encoding="utf-8")
    git(county, "add", ".")
    git(county, "commit", "-qm", "县里的文件")
    clone = tmp_path / "elsewhere" / "clone"
    clone.parent.mkdir()
    git(tmp_path, "clone", "-q", str(county), str(clone))
    copy = clone / "policies" / "qingtian-2022-5.yaml"
    resolved = (copy.parent / schema_line(copy)).resolve()
    assert resolved.is_file() and json.loads(resolved.read_text(encoding="utf-8"))["$schema"].endswith("2020-12/schema")
    # and a generic validator follows the line to a schema that passes the file
    check = subprocess.run(["check-jsonschema", "--schemafile", str(resolved), str(copy)], capture_output=True,
                           text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr


def test_fork_can_point_at_the_bureaus_url_instead(tmp_path):
    out = tmp_path / "policies" / "q.yaml"
    url = "https://bureau.example.invalid/schemas/policy.schema.json"
    run = CliRunner().invoke(cli, ["fork", str(ROOT / "policies" / "lishui-2021-67.yaml"), "--id", "q-1",
                                   "--jurisdiction", "青田县", "-o", str(out), "--schema-url", url])
    assert run.exit_code == 0, run.output
    assert schema_line(out) == url and not (tmp_path / "schemas").exists()


def test_schemas_command_copies_and_updates_the_editors_schemas(tmp_path):
    folder = tmp_path / "schemas"
    run = CliRunner().invoke(cli, ["schemas", str(folder), "--lang", "en"])
    assert run.exit_code == 0, run.output
    assert run.output.count("wrote") == 2
    (folder / "policy.schema.json").write_text("{}", encoding="utf-8")  # an older engine's copy
    again = CliRunner().invoke(cli, ["schemas", str(folder), "--lang", "en"])
    assert again.exit_code == 0
    assert f"wrote {folder / 'policy.schema.json'}" in again.output
    assert f"{folder / 'tests.schema.json'} is up to date" in again.output
    assert (folder / "policy.schema.json").read_text(encoding="utf-8") == (ROOT / "schemas" / "policy.schema.json"
                                                                            ).read_text(encoding="utf-8")
