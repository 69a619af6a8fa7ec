"""pre-commit hooks (.pre-commit-hooks.yaml): `policy lint` on each changed policy file, and every officers' test file
of the repository whenever a policy or test file changes."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from engine.core.messages import t

# A change to a city's file can break a county's cases (the county inherits it): every test file runs.
TESTS_GLOBS = ("*.tests.yaml", "*.tests.yml")


def _policy(args: Sequence[str], quiet_lines: int = 0) -> int:
    """Run `policy ARGS` as the user would; its exit code. Quiet on success: its output is shown when it failed, or
    when it says more than `quiet_lines` lines (lint's warnings), so a clean commit prints only pre-commit's lines."""
    done = subprocess.run([sys.executable, "-m", "cli", *args], check=False, capture_output=True, text=True)
    said = done.stdout + done.stderr
    if done.returncode != 0 or len(said.splitlines()) > quiet_lines:
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
    return done.returncode


def _tests_files(root: Path) -> list[Path]:
    """The officers' test files git knows of (tracked or newly added), else any found under `root`."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *TESTS_GLOBS,
                             *(f"**/{g}" for g in TESTS_GLOBS)], cwd=root, capture_output=True, text=True, check=False)
    # Relative to the repository (where pre-commit runs), so messages name files as the officer sees them.
    if listed.returncode == 0:
        return sorted({Path(line) for line in listed.stdout.splitlines() if line})
    return sorted({p.relative_to(root) for g in TESTS_GLOBS for p in root.rglob(g)})


def _policy_of(tests: Path) -> Path:
    return tests.with_name(tests.name.replace(".tests.yaml", ".yaml").replace(".tests.yml", ".yml"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="policy-hooks")
    parser.add_argument("hook", choices=["lint", "test"])
    parser.add_argument("files", nargs="*")
    parser.add_argument("--lang", choices=["zh", "en"])
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("--today")
    parser.add_argument("--no-coverage", action="store_true")
    parser.add_argument("--policies", action="append", default=[])
    args = parser.parse_intermixed_args(argv)  # pre-commit puts args: before the file names
    common = [*(["--lang", args.lang] if args.lang else []), *(x for d in args.policies for x in ("--policies", d))]
    failed = 0
    if args.hook == "lint":
        extra = [*(["--strict"] if args.strict else []), *(["--today", args.today] if args.today else [])]
        for file in args.files:
            failed += _policy(["lint", file, *common, *extra], quiet_lines=1) != 0  # 1: the summary alone
        return 1 if failed else 0
    extra = ["--no-coverage"] if args.no_coverage else []
    for tests in _tests_files(Path.cwd()):
        policy = _policy_of(tests)
        if not policy.is_file():
            print(t("hooks.no_policy", args.lang or "zh", tests=tests, policy=policy), file=sys.stderr)
            failed += 1
            continue
        failed += _policy(["test", str(policy), str(tests), *common, *extra]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
