"""Speed figures the team's targets are set on, over a deterministic synthetic population of applicants.

Per applicant (medians over rounds): evaluate without a trace, checking facts from a plain dict and then
evaluating, evaluate with the full explanation trace, render_json and render_text of one traced result;
then the whole `policy evaluate` process beside `python -c pass`, and loading the policy. Every figure is
printed with its target and ok / MISS. The population comes from scripts/population.py (derived from the
policy alone); a sanity block shows that it exercises every kind of applicant and every outcome.

    python scripts/benchmark.py                 # 5 rounds of 2,000 applicants, 10 processes
    python scripts/benchmark.py --quick         # a smoke run: 300 applicants, 1 round, 3 processes
    python scripts/benchmark.py --strict        # exit 1 when any target is missed
    python scripts/benchmark.py --no-service    # without the HTTP service section (scripts/bench_service.py)
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from population import population  # noqa: E402

from engine import applicant_from_data, evaluate, load_policy, render_json, render_text  # noqa: E402
from engine.model.facts import facts_for  # noqa: E402

# Targets, per applicant unless said otherwise.
TARGET_EVALUATE_US = 20.0        # evaluate(policy, applicant, trace=False), facts already checked
TARGET_FROM_DATA_US = 35.0       # applicant_from_data + evaluate(trace=False)
TARGET_TRACED_US = 100.0         # evaluate(policy, applicant), the full explanation trace
TARGET_JSON_US = 50.0            # render_json(result) of one traced result
TARGET_PROCESS_RATIO = 6.0       # whole `policy evaluate` process / `python -c pass`

OUTCOMES = ("eligible", "ineligible", "undetermined", "referred", "not_applicable")


def _per_item_us(fn, items) -> tuple[float, list]:
    """Microseconds per item for fn over items (a fresh, collected heap first), and what fn returned."""
    gc.collect()
    start = time.perf_counter()
    out = [fn(x) for x in items]
    return (time.perf_counter() - start) / max(1, len(items)) * 1e6, out


def _line(label: str, value: str, target: str, status: str) -> str:
    return f"  {label:<50} {value:>24}   {target:<12} {status}"


def _verdict(value: float, target: float | None) -> str:
    if target is None:
        return "(info)"
    return "ok" if value <= target else "MISS"


def _signature(result) -> tuple:
    """What must not depend on the trace: total, completeness and each clause's outcome and amount."""
    return (result.total, result.complete, tuple((r.outcome, r.amount) for r in result.clauses))


def _population_summary(policy, dicts: list[dict]) -> list[str]:
    kinds = Counter(d["recipient"] for d in dicts)
    areas = set(policy.areas)
    out_of_area = sum(1 for d in dicts if d.get("area") is not None and d["area"] not in areas)
    no_area = sum(1 for d in dicts if d.get("area") is None)
    start, end = policy.start.isoformat(), policy.end.isoformat() if policy.end else None
    out_of_period = sum(1 for d in dicts if d["date"] < start or (end is not None and d["date"] > end))
    granted_unknown = sum(1 for d in dicts if d.get("granted") is None)
    granted_some = sum(1 for d in dicts if d.get("granted"))
    needed = {kind: [f.name for f in facts_for(policy, kind)] for kind in policy.recipients}
    missing = sum(1 for d in dicts if any(d["facts"].get(n) is None for n in needed[d["recipient"]]))
    return [
        "  kinds: " + ", ".join(f"{k} {kinds[k]}" for k in policy.recipients),
        f"  out of area {out_of_area}, no area {no_area}, out of period {out_of_period}, "
        f"granted unknown {granted_unknown}, granted amounts {granted_some}, a fact missing {missing}",
    ]


def _outcome_summary(results) -> list[str]:
    clauses = Counter(r.outcome for result in results for r in result.clauses)
    paid = sum(1 for result in results if result.total > 0)
    incomplete = sum(1 for result in results if not result.complete)
    absent = [o for o in OUTCOMES if not clauses[o]]
    return [
        "  clause outcomes: " + ", ".join(f"{o} {clauses[o]}" for o in OUTCOMES)
        + ("" if not absent else f"   (never: {', '.join(absent)})"),
        f"  applicants: {paid} paid something, {incomplete} incomplete (undetermined clauses), "
        f"{len(results) - paid - incomplete} complete with nothing to pay",
    ]


def _processes(policy_path: str, facts_path: str, runs: int) -> tuple[float, float]:
    """Median seconds of the whole `policy evaluate` process and of `python -c pass`, run alternately."""
    cli = [sys.executable, str(ROOT / "cli.py"), "evaluate", policy_path, facts_path]
    bare = [sys.executable, "-c", "pass"]
    cli_times, bare_times = [], []
    for _ in range(runs):
        for cmd, times in ((cli, cli_times), (bare, bare_times)):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
            times.append(time.perf_counter() - start)
    return statistics.median(cli_times), statistics.median(bare_times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", default=str(ROOT / "policies" / "lishui-2021-67.yaml"))
    parser.add_argument("--facts", default=str(ROOT / "examples" / "seller.yaml"),
                        help="facts file for the whole-process run")
    parser.add_argument("--applicants", type=int, default=2000, help="applicants per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; figures are medians (default 5)")
    parser.add_argument("--processes", type=int, default=10, help="whole-process runs of each command (default 10)")
    parser.add_argument("--loads", type=int, default=10, help="policy loads timed (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="population seed (default 0)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 300 applicants, 1 round, 3 processes")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any target is missed")
    parser.add_argument("--no-service", action="store_true", help="skip the HTTP service section (bench_service.py)")
    args = parser.parse_args(argv)
    if args.quick:
        args.applicants, args.rounds, args.processes, args.loads = 300, 1, 3, 3

    start = time.perf_counter()
    policy = load_policy(args.policy)
    cold_load_ms = (time.perf_counter() - start) * 1000
    dicts = population(policy, args.applicants, seed=args.seed)
    applicants = [applicant_from_data(policy, d) for d in dicts]

    # Warm up once (first-call costs: imports, caches), then time each figure in every round.
    for a in applicants[:50]:
        render_json(evaluate(policy, a))
        render_text(evaluate(policy, a, trace=False))
    rounds: dict[str, list[float]] = {k: [] for k in ("fast", "from_data", "traced", "json", "text")}
    traced = fast = None
    for r in range(args.rounds):
        us, fast = _per_item_us(lambda a: evaluate(policy, a, trace=False), applicants)
        rounds["fast"].append(us)
        # Applicants never seen before in this process: the facts checker remembers texts it has read, and a
        # round of real applicants repeats few amounts, so the figure must not ride on that memory.
        fresh = population(policy, args.applicants, seed=args.seed + 1 + r)
        us, _ = _per_item_us(lambda d: evaluate(policy, applicant_from_data(policy, d), trace=False), fresh)
        rounds["from_data"].append(us)
        us, traced = _per_item_us(lambda a: evaluate(policy, a), applicants)
        rounds["traced"].append(us)
        us, _ = _per_item_us(render_json, traced)
        rounds["json"].append(us)
        us, _ = _per_item_us(render_text, traced)
        rounds["text"].append(us)
    med = {k: statistics.median(v) for k, v in rounds.items()}

    loads = []
    for _ in range(args.loads):
        start = time.perf_counter()
        load_policy(args.policy)
        loads.append((time.perf_counter() - start) * 1000)
    cli_s, bare_s = _processes(args.policy, args.facts, args.processes)
    ratio = cli_s / bare_s

    disagree = sum(1 for f, t in zip(fast, traced, strict=True) if _signature(f) != _signature(t))
    name = Path(args.policy).name
    print(f"benchmark: {name}, {args.applicants:,} synthetic applicants (seed {args.seed}) × {args.rounds} "
          f"round{'s' if args.rounds != 1 else ''}, medians; Python {sys.version.split()[0]}")
    print("population:")
    for line in _population_summary(policy, dicts) + _outcome_summary(traced):
        print(line)
    print(f"  trace=False and trace=True agree on outcomes and amounts for "
          f"{len(traced) - disagree}/{len(traced)} applicants" + ("" if not disagree else "   <-- DISAGREE"))
    print()
    print(_line("figure", "per applicant", "target", ""))
    checks = [
        ("evaluate, facts checked, no trace", med["fast"], TARGET_EVALUATE_US),
        ("facts checked + evaluate, from a plain dict", med["from_data"], TARGET_FROM_DATA_US),
        ("evaluate with the full explanation trace", med["traced"], TARGET_TRACED_US),
        ("render_json of one traced result", med["json"], TARGET_JSON_US),
        ("render_text of one traced result", med["text"], None),
    ]
    missed = 0
    for label, value, target in checks:
        verdict = _verdict(value, target)
        missed += verdict == "MISS"
        print(_line(label, f"{value:,.1f} µs", f"≤ {target:g} µs" if target else "—", verdict))
    verdict = _verdict(ratio, TARGET_PROCESS_RATIO)
    missed += verdict == "MISS"
    print(_line("whole process `policy evaluate` / `python -c pass`",
                f"{cli_s * 1000:.0f} / {bare_s * 1000:.0f} ms = {ratio:.1f}×", f"≤ {TARGET_PROCESS_RATIO:g}×", verdict))
    print(_line("load + validate + compile the policy", f"{statistics.median(loads):.1f} ms",
                "—", f"(info; first load in process {cold_load_ms:.1f} ms)"))
    print()
    targets = sum(1 for *_, target in checks if target is not None) + 1
    if not args.no_service:
        from bench_service import run as service_figures

        print()
        lines, service_missed = service_figures(100 if args.quick else 1500)
        print("\n".join(lines))
        missed += service_missed
        targets += 1
    print(f"targets met: {targets - missed} of {targets}")
    return 1 if (args.strict and missed) or disagree else 0


if __name__ == "__main__":
    sys.exit(main())
