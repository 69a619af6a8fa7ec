"""A county keeping its policy in git: the README's .pre-commit-config.yaml, installed with pre-commit, checks each
commit with this project's hooks (.pre-commit-hooks.yaml), really run by pre-commit in a temporary repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# .ci/run uses pytest -n auto --dist loadfile: one worker runs this module, so the hooks' environment (pre-commit
# installs this project into a virtualenv, a minute or more) is built once, not once per worker.
ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
GIT_ENV = {"GIT_AUTHOR_NAME": "县商务局", "GIT_AUTHOR_EMAIL": "officer@example.invalid",
           "GIT_COMMITTER_NAME": "县商务局", "GIT_COMMITTER_EMAIL": "officer@example.invalid",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str, dict[str, str]]:
    """This project as a county would name it in `repo:`: a git repository of the working tree as it is now,
    at a commit (`rev:`). PRE_COMMIT_HOME is private, so pre-commit builds the hooks' environment once, here."""
    base = tmp_path_factory.mktemp("hooks")
    repo = base / "policy-engine"
    files = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").stdout.splitlines()
    for name in files:
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    # pip, as pre-commit runs it to install this project into the hooks' environment: with the setuptools that
    # virtualenv puts there (VIRTUALENV_SETUPTOOLS=bundle: on every Python, not only before 3.12) rather than a
    # separate build environment, and without compiling every installed module to bytecode first (the hooks
    # compile the few they import as they run). What is installed, and what the hooks do, are the same; pip's
    # CPU roughly halves (12.5 → 6.4 s). pip reads a --no-* option's variable inverted: PIP_NO_BUILD_ISOLATION=0
    # is --no-build-isolation, PIP_COMPILE=0 is --no-compile.
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(base / "pre-commit-home"),
           "VIRTUALENV_SETUPTOOLS": "bundle", "PIP_NO_BUILD_ISOLATION": "0", "PIP_COMPILE": "0"}
    assert git(repo, "init", "-q", env=env).returncode == 0
    git(repo, "add", ".", env=env)
    assert git(repo, "commit", "-qm", "snapshot", env=env).returncode == 0
    return repo, git(repo, "rev-parse", "HEAD", env=env).stdout.strip(), env


def readme_config() -> str:
    """The .pre-commit-config.yaml the README tells a county to add."""
    found = re.search(r"```yaml\n(# \.pre-commit-config\.yaml.*?)```", README, re.DOTALL)
    assert found, "README shows no .pre-commit-config.yaml"
    return found.group(1)


@pytest.fixture()
def county(hook_repo, tmp_path) -> Path:
    """A county's repository: the city's policy with its test cases, committed when the repository was made, and
    the county's own file that extends it, with its cases, about to be committed; the README's pre-commit
    configuration pointing at this project, installed as a git hook. (Each commit checks the county's files, as
    an officer's commit would; the city's are checked as shipped by test_tools_fmt.py and `policy test`, which
    runs every case file of the repository on each commit here too.)"""
    repo, rev, env = hook_repo
    county = tmp_path / "qingtian"
    (county / "policies").mkdir(parents=True)
    for name in ("lishui-2021-67.yaml", "lishui-2021-67.tests.yaml"):
        shutil.copy(ROOT / "policies" / name, county / "policies" / name)
    assert git(county, "init", "-q", env=env).returncode == 0
    git(county, "add", ".", env=env)
    assert git(county, "commit", "-qm", "市里的政策", env=env).returncode == 0
    for name in ("qingtian-example.yaml", "qingtian-example.tests.yaml"):
        text = (ROOT / "policies" / "examples" / name).read_text(encoding="utf-8")
        (county / "policies" / name).write_text(text.replace("../../schemas/", "../schemas/"), encoding="utf-8")
    config = readme_config()
    config = re.sub(r"repo: \S+", f"repo: {repo}", config)
    config = re.sub(r"rev: \S+", f"rev: {rev}", config)
    (county / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    install = subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=county, env=env,
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    return county


HOOKS = ("policy-validate", "policy-test", "policy-lint", "policy-fmt")


def commit(county: Path, env: dict[str, str], *only: str) -> subprocess.CompletedProcess[str]:
    """`git commit`, through the installed pre-commit hook. `only`: the hooks a test is about; pre-commit's own SKIP
    leaves the others out (each runs `policy` in processes of its own), so one test, the clean commit, runs all four
    together and the others the ones whose answer they check."""
    git(county, "add", ".", env=env)
    skip = [hook for hook in HOOKS if only and hook not in only]
    return git(county, "commit", "-m", "县里的修改", env={**env, "SKIP": ",".join(skip)} if skip else env)


def test_a_clean_commit_passes_the_four_hooks(county, hook_repo):
    run = commit(county, hook_repo[2])
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    for hook in ("policy validate", "policy test", "policy lint", "policy fmt"):
        assert re.search(rf"{hook}\.+Passed", out), out
    # quiet on success: pre-commit's own lines, not the 79 passing cases or lint's empty summary
    assert "passed" not in out and "0 failed" not in out and "通过" not in out, out
    assert str(county) not in out, out
    assert git(county, "log", "--oneline").stdout.count("\n") == 2  # the city's, and this one


def test_a_misspelt_key_blocks_the_commit_at_its_line(county, hook_repo):
    path = county / "policies" / "qingtian-example.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("    value: 8万元", "    valu: 8万元"), encoding="utf-8")
    run = commit(county, hook_repo[2], "policy-validate")
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert re.search(r"policy validate\.+Failed", out), out
    assert re.search(r"policies/qingtian-example\.yaml:\d+:5: 错误：未知的键 'valu'", out), out
    assert "value" in out  # the suggestion
    assert git(county, "log", "--oneline").stdout.count("\n") == 1  # nothing was committed after the city's


def test_a_case_that_no_longer_holds_blocks_the_commit(county, hook_repo):
    path = county / "policies" / "qingtian-example.tests.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"2.1": {outcome: eligible, amount: 8万元}', '"2.1": {outcome: eligible, amount: 10万元}'),
                    encoding="utf-8")
    run = commit(county, hook_repo[2], "policy-validate", "policy-test")
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert re.search(r"policy test\.+Failed", out), out
    assert "首次开展跨境电商：县里上限8万元" in out, out
    assert "policies/qingtian-example.tests.yaml" in out and str(county) not in out, out  # relative to the repo
    assert re.search(r"policy validate\.+Passed", out), out


def test_lint_shows_warnings_and_strict_blocks_on_them(county, hook_repo):
    env = hook_repo[2]
    path = county / "policies" / "qingtian-example.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "add:\n  parameters:\n    spare_rate: {label: 备用比例, value: 10%}\n",
                    encoding="utf-8")
    run = commit(county, env, "policy-lint")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out  # a warning is shown, and does not block
    assert re.search(r"policy lint\.+Passed", out) and "spare_rate" in out, out
    config = county / ".pre-commit-config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("- id: policy-lint", "- id: policy-lint\n        args: [--strict]"),
                      encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace("备用比例", "备用的比例"), encoding="utf-8")
    run = commit(county, env, "policy-lint")
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert re.search(r"policy lint\.+Failed", out) and "spare_rate" in out, out


def test_fmt_lays_out_a_changed_file_and_the_commit_waits_for_it(county, hook_repo):
    env = hook_repo[2]
    path = county / "policies" / "qingtian-example.yaml"
    text = path.read_text(encoding="utf-8")
    untidy = text.replace("  from: 2022-06-01\n  until: 2027-05-31\n", "  until: 2027-05-31\n  from: 2022-06-01\n")
    untidy = untidy.replace("  first_time_cap:\n    value: 8万元", "  first_time_cap:  \n    value:   8万元")
    assert untidy != text
    path.write_text(untidy, encoding="utf-8")
    run = commit(county, env, "policy-fmt")
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert re.search(r"policy fmt\.+Failed", out) and "files were modified by this hook" in out, out
    assert path.read_text(encoding="utf-8") == text  # laid out as shipped, comments and all
    run = commit(county, env, "policy-fmt")  # the officer adds the laid-out file again
    assert run.returncode == 0, run.stdout + run.stderr
