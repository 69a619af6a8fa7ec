"""The benchmark's `policy batch` figures run end to end (small rounds here: CI runs the tests, not the figures)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_batch_benchmark_prints_its_figures_beside_the_targets():
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "benchmark.py"), "--batch-only",
                          "--batch-sizes", "150,300", "--jobs", "1"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "batch 150 CSV → JSONL" in out and "batch 300 CSV → JSONL" in out and "CSV → XLSX" in out
    assert "peak memory" in out and "flat" in out
