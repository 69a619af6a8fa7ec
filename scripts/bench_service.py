"""The HTTP service's speed: `policy serve` in its own process on loopback, driven by an asyncio client (httpx) at a
few concurrency levels, each bounded in requests and in time; throughput, p50/p99 latency and errors (must be 0).

    python scripts/bench_service.py             # 1, 4 and 16 concurrent clients, 1,500 requests each
    python scripts/bench_service.py --quick     # 300 requests each
scripts/benchmark.py runs this as its last section.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from population import population

from engine import load_policy

LEVELS = (1, 4, 16)
TARGET_THROUGHPUT = 300.0  # requests/s at 4 concurrent clients, untraced evaluation, on the 2-core machine
TARGET_P99_MS = 100.0  # at 16 concurrent clients
MAX_SECONDS = 30.0  # per level: the run stops there, whatever count it reached


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(folder: Path) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    # Its stderr (a JSON line per request, as served by default) goes to a file: a pipe nobody reads would fill
    # and stop the server.
    log = tempfile.TemporaryFile("w+", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", str(folder), "--port", str(port)],
                            stderr=log, text=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"{url}/policies", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=10)
    log.seek(0)
    raise RuntimeError("policy serve did not start: " + log.read())


async def _level(url: str, bodies: list[bytes], concurrency: int, count: int, trace: bool) -> dict[str, float]:
    import httpx

    latencies: list[float] = []
    errors = 0
    next_index = 0
    deadline = time.perf_counter() + MAX_SECONDS
    target = f"{url}/policies/lishui-2021-67/evaluate?trace={'true' if trace else 'false'}"
    headers = {"Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal next_index, errors
            while next_index < count and time.perf_counter() < deadline:
                body = bodies[next_index % len(bodies)]
                next_index += 1
                start = time.perf_counter()
                try:
                    response = await client.post(target, content=body, headers=headers)
                    ok = response.status_code == 200 and response.content.startswith(b'{"format"')
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - start)
                errors += not ok

        begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - begin
    latencies.sort()
    return {"count": len(latencies), "errors": errors, "throughput": len(latencies) / elapsed,
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000}


def run(count: int = 1500, levels: tuple[int, ...] = LEVELS, folder: Path = ROOT / "policies") -> tuple[list[str], int]:
    """The section's lines and how many targets it missed (an error is always a miss)."""
    policy = load_policy(str(folder / "lishui-2021-67.yaml"))
    bodies = [json.dumps(d, default=str, ensure_ascii=False).encode()
              for d in population(policy, min(500, count), seed=7)]  # a small run (the tests') makes fewer
    proc, url = _start(folder)
    lines = [f"service: `policy serve` on loopback (uvicorn + Starlette, own process), POST evaluate, "
             f"{len(bodies)} distinct applicants, ≤ {count:,} requests and ≤ {MAX_SECONDS:g} s per level"]
    missed = 0
    try:
        asyncio.run(_level(url, bodies, 4, min(100, count), False))  # warm up: connections, first-call costs
        for trace in (False, True):
            for concurrency in levels:
                figures = asyncio.run(_level(url, bodies, concurrency, count, trace))
                checks = []
                if not trace and concurrency == 4:
                    checks.append(figures["throughput"] >= TARGET_THROUGHPUT)
                if not trace and concurrency == 16:
                    checks.append(figures["p99"] <= TARGET_P99_MS)
                checks.append(figures["errors"] == 0)
                verdict = "ok" if all(checks) else "MISS"
                missed += verdict == "MISS"
                lines.append(f"  trace={'on ' if trace else 'off'} concurrency {concurrency:>2}: "
                             f"{figures['count']:>5,} requests, {figures['throughput']:>7,.0f} req/s, "
                             f"p50 {figures['p50']:6.2f} ms, p99 {figures['p99']:6.2f} ms, "
                             f"errors {figures['errors']:.0f}   {verdict}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    lines.append(f"  targets: 0 errors at every level; ≥ {TARGET_THROUGHPUT:g} req/s at 4 clients and "
                 f"p99 ≤ {TARGET_P99_MS:g} ms at 16 clients, untraced (the client shares the machine's cores)")
    return lines, missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1500, help="requests per level (default 1500)")
    parser.add_argument("--quick", action="store_true", help="300 requests per level")
    args = parser.parse_args(argv)
    lines, missed = run(300 if args.quick else args.requests)
    print("\n".join(lines))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
