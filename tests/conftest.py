"""Shared fixtures: paths into the repository and a compiled Lishui policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import load_policy

ROOT = Path(__file__).resolve().parent.parent
LISHUI = ROOT / "policies" / "lishui-2021-67.yaml"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.fixture(scope="session")
def lishui():
    return load_policy(str(LISHUI))
