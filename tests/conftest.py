"""Shared fixtures: paths into the repository and a compiled Lishui policy."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Compiled policies are cached per user (engine.cache); tests keep theirs apart from the user's own.
os.environ["POLICY_CACHE_DIR"] = tempfile.mkdtemp(prefix="policy-cache-tests-")

from engine import load_policy

ROOT = Path(__file__).resolve().parent.parent
LISHUI = ROOT / "policies" / "lishui-2021-67.yaml"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.fixture(scope="session")
def lishui():
    return load_policy(str(LISHUI))
