"""Speed figures: whole-process `policy evaluate`, policy load+compile, and per-applicant evaluation."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import applicant_from_data, evaluate, load_policy, render_json, render_text  # noqa: E402


def _time(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--policy", default=str(ROOT / "policies" / "lishui-2021-67.yaml"))
    parser.add_argument("--facts", default=str(ROOT / "examples" / "seller.yaml"))
    parser.add_argument("--processes", type=int, default=10, help="whole-process runs")
    parser.add_argument("--applicants", type=int, default=2000, help="applicants evaluated in one process")
    args = parser.parse_args()

    cmd = [sys.executable, str(ROOT / "cli.py"), "evaluate", args.policy, args.facts]
    runs = _time(lambda: subprocess.run(cmd, check=True, capture_output=True), args.processes)
    print(f"whole process `policy evaluate` (text): median {statistics.median(runs) * 1000:.0f} ms, "
          f"min {min(runs) * 1000:.0f} ms over {args.processes} runs")

    loads = _time(lambda: load_policy(args.policy), 20)
    print(f"load + validate + compile the policy: median {statistics.median(loads) * 1000:.1f} ms")

    policy = load_policy(args.policy)
    applicants = []
    for i in range(args.applicants):
        applicants.append(applicant_from_data(policy, {
            "recipient": "seller", "area": "莲都区", "date": "2024-06-30", "granted": {},
            "facts": {"registered_cbec": True, "first_time_cbec": i % 2 == 0,
                      "cbec_turnover": Decimal(4_000_000 + 1_000 * i), "platform_fees": Decimal(100_000 + i),
                      "digital_promotion": Decimal("1234.56"), "has_independent_site": i % 3 == 0,
                      "site_domain_holding": Decimal("0.6"), "site_costs": Decimal(200_000 + 7 * i),
                      "uses_public_warehouse": True, "warehouse_service_cost": Decimal(50_000 + i),
                      "in_recognised_park": False},
        }))
    start = time.perf_counter()
    results = [evaluate(policy, a) for a in applicants]
    elapsed = time.perf_counter() - start
    print(f"evaluate per applicant (one process, {args.applicants} sellers): "
          f"{elapsed / args.applicants * 1e6:.0f} µs ({args.applicants / elapsed:.0f} applicants/s)")
    start = time.perf_counter()
    for r in results[:200]:
        render_text(r)
        render_json(r)
    print(f"render text + json per result: {(time.perf_counter() - start) / 200 * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
