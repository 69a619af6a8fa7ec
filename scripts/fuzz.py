"""Mutation fuzzing of the `policy` command: every command, on mutated bundled policies, tests and facts files.

    python scripts/fuzz.py --minutes 5 [--seed 1] [--out /tmp/fuzz-findings] [--workers 2] [--timeout 20]
    python scripts/fuzz.py --seconds 20                  # a smoke run (tests/test_scripts_fuzz.py)
    python scripts/fuzz.py --cases 40 --seed 7           # exactly 40 inputs, whatever the time
    python scripts/fuzz.py --target batch --minutes 10   # mutated rounds through `policy batch`
    python scripts/fuzz.py --target service --seconds 60 # mutated requests through the HTTP app, in-process
    python scripts/fuzz.py --target all --minutes 60     # the three targets in turn, the time shared

--target cli (the default) is described here; batch and service are in scripts/fuzz_targets.py, whose findings
are saved as OUT/<target>-NNN-<check>/sample-K (the input, check.txt, a replay script) and named by the defect
already reported (D01…) or NEW.

Each input ("case") is made from a seed file (policies/*.yaml, policies/examples/*.yaml, their *.tests.yaml,
examples/*.yaml and ../shared/repro/*facts*.yaml when present) by YAML-aware mutations (a number, a date or an
operator changed, clauses swapped or duplicated, a key deleted, unicode / control characters / surrogate escapes
inserted, huge numbers, deep nesting, long `requires:` chains, big groups, hostile fact values) and byte-level
ones, and is run through the CLI as subprocesses (POLICY_CACHE=0, POLICY_DEBUG=1 for tracebacks) with a
per-run timeout, over --workers workers:

    policy case: validate, evaluate (text and --format json), facts, test, lint, render --format html and
                 markdown (to a file), diff ORIGINAL MUTANT [--cases FACTS], fork (to a file), show --resolved
    facts case:  evaluate (text and json) of a mutated facts file, sometimes diff --cases
    tests case:  test POLICY MUTATED-TESTS, sometimes diff --cases

A run is a finding when it exits 3, prints a Python traceback, does not finish in time (a hang), is killed by a
signal, or — for `evaluate --format json` that exits 0 — breaks an invariant: the total is not the sum of the
eligible amounts, an amount is negative, not a whole number of fen (a multiple of money.round_to) or "-0.00",
or the JSON does not match schemas/result.schema.json. Findings are deduplicated by the last line of the
traceback (numbers masked) or by the invariant, and up to three inputs of each are saved under --out with a
`command.sh` that replays the run. The summary gives runs per command, findings per kind and one line per
distinct finding. Exit 0 when nothing was found, 1 otherwise.

Case i is made from random.Random(f"{seed}:{i}") alone, so a seed always gives the same inputs in the same
order; how many are run depends on --minutes/--seconds (or give --cases). `--command` replaces
`python cli.py` by another command (tests plant crashes with it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from copy import deepcopy
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
REPRO = ROOT.parent / "shared" / "repro"
sys.path.insert(0, str(ROOT))
sys.setrecursionlimit(20_000)  # dumping deeply nested mutants

TRACEBACK = "Traceback (most recent call last):"
KINDS = ("exit3", "traceback", "hang", "signal", "exit-code", "invariant")
SAMPLES_PER_FINDING = 3
MEMORY_LIMIT = 4 * 1024**3  # per run: a runaway mutant is a finding, not a machine out of memory
MARKER = ".fuzz-finding"


# --- seeds -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SeedPolicy:
    path: Path
    tests: Path | None
    parent: Path | None  # the file it extends, copied beside it so `extends:` by id finds it
    facts: tuple[Path, ...]  # bundled facts files meant for it


def find_seeds() -> tuple[list[SeedPolicy], list[Path]]:
    files = sorted((ROOT / "policies").glob("*.yaml")) + sorted((ROOT / "policies" / "examples").glob("*.yaml"))
    policies = [p for p in files if not p.name.endswith(".tests.yaml")]
    by_id: dict[str, Path] = {}
    for path in policies:
        found = re.search(r"^id:\s*['\"]?([\w-]+)", path.read_text(encoding="utf-8"), re.MULTILINE)
        if found:
            by_id[found.group(1)] = path
    examples = sorted((ROOT / "examples").glob("*.yaml"))
    repro = sorted(REPRO.glob("*facts*.yaml")) if REPRO.is_dir() else []
    seeds = []
    for path in policies:
        text = path.read_text(encoding="utf-8")
        parent_id = re.search(r"^extends:\s*['\"]?([\w-]+)", text, re.MULTILINE)
        parent = by_id.get(parent_id.group(1)) if parent_id else None
        tests = path.with_name(path.name[: -len(".yaml")] + ".tests.yaml")
        family = {path.stem, parent.stem if parent else ""}
        # The bundled examples are Lishui applicants; a county that extends Lishui reads the same facts.
        facts = tuple(examples + repro) if any(name.startswith("lishui") for name in family) else ()
        seeds.append(SeedPolicy(path, tests if tests.exists() else None, parent, facts))
    return seeds, examples + repro


class Declared:
    """What a seed policy declares (kinds, areas, facts, thresholds), read once with the engine, to write
    plausible facts for it. Empty when the engine cannot load it (then bundled facts files are used)."""

    def __init__(self, seed: SeedPolicy):
        self.kinds: list[str] = []
        self.areas: list[str] = []
        self.start, self.end = dt.date(2022, 1, 1), dt.date(2026, 12, 31)
        self.facts: dict[str, list[tuple[str, str, dict]]] = {}  # kind -> [(name, type, extra)]
        self.clauses: list[str] = []
        self.numbers: list[Decimal] = []
        try:
            from engine import load_policy
            from engine.model.facts import facts_for

            policy = load_policy(str(seed.path), policies=[str(ROOT / "policies")])
        except Exception:  # the engine may be mid-change; fall back to bundled facts
            return
        self.kinds = sorted(policy.recipients)
        self.areas = list(policy.areas)
        self.start, self.end = policy.start, policy.end or policy.start + dt.timedelta(days=5 * 365)
        self.clauses = [c.id for c in policy.clauses if c.award is not None or c.refers_to is not None]
        for clause in policy.clauses:
            for expr in clause.expressions():
                self.numbers += [Decimal(n) for n in re.findall(r"(?<![\w.])(\d+(?:\.\d+)?)", expr.source)]
        for kind in self.kinds:
            out = []
            for fact in facts_for(policy, kind):
                extra = {"choices": list(fact.choices), "items": {n: f.type for n, f in fact.items.items()},
                         "max": fact.maximum}
                out.append((fact.name, fact.type, extra))
            self.facts[kind] = out


# --- values -------------------------------------------------------------------------------------------------

HOSTILE_SCALARS = [
    "1e5", "1E+5", "-0", "-0.00", "+5", " 5 ", "0x10", "１２", "5万万", "Infinity", "NaN", "", "10,00", "1_000", "-5%",
    "50%%", "٣", "99999999999999999", "1000000000000万元", "0.0000000000001", "33.33333333333%", "1" * 40,
    "x\ud800y", "\udfff", "a\x00b", "a\x01b", "\x7f", "\ufffe", "\u202e", "\x1b[31m", "\u2028", "\ufeff", "e\u0301",
    "😀", "\u200d", 10**17, 10**60, -1, -0.0, 0.1 + 0.2, 1e308, 5e-324, float("nan"), float("inf"), True, False,
    None, [], {}, [[[[]]]], {"a": 1}, "2024-02-30", "9999-12-31", "0001-01-01",
]
EXPRESSION_TAILS = [" / 0", " * 0", " - 1亿元", " + 1e5", " ** 2", " * 10**10**10", " if x else 1", " and not 1",
                    " or 1", ".real", "[0]", "(1)", " + __import__('os')", " + [i for i in (1,)][0]",
                    " + 99999999999999999999999万元", " * 0.0000000000001%", " + 1" * 30]
OPERATORS = [">=", "<=", ">", "<", "==", "!=", " and ", " or ", " + ", " - ", " * ", " / ", "not "]
FAMILIES = [[">=", "<=", ">", "<", "==", "!="], [" and ", " or "], [" + ", " - ", " * ", " / "]]
DATES = ["0001-01-01", "9999-12-31", "2024-02-29", "2023-02-29", "2024-13-01", "1970-01-01", "2099-12-31",
         "2022-02-01", "2027-01-31", "2027-02-01"]


def wild_number(rng: random.Random, value: object = None) -> object:
    """A number near `value`, at an edge, or absurd."""
    base = Decimal(str(value)) if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) else None
    if base is not None and base.is_finite() and rng.random() < 0.6:  # mostly a plausible neighbour
        step = rng.choice([Decimal(1), Decimal("0.01"), base / 2 or Decimal(1), base * 9 or Decimal(10)])
        near = base + step if rng.random() < 0.6 else base - step
        near = near.quantize(Decimal("0.01")) if near != near.to_integral_value() else near.to_integral_value()
        return int(near) if near == near.to_integral_value() else str(near)
    choices: list[object] = [0, 1, -1, 10**16, 10**17 - 1, 10**60, 10**400, Decimal("0.005"), Decimal("1E-13"),
                             "1e5", "-0", "0.0000000000001", "99999999999999999", "1000000000000亿元", 0.1 + 0.2]
    if base is not None and base.is_finite():
        choices += [base + 1, base - 1, base * 10, base / 3, -base, base + Decimal("0.001"), base * 10**12]
    picked = rng.choice(choices)
    if isinstance(picked, Decimal):
        try:
            return float(picked) if rng.random() < 0.3 else int(picked) if picked == picked.to_integral_value() else \
                str(picked)
        except (OverflowError, InvalidOperation):
            return str(picked)
    return picked


def money_text(rng: random.Random, near: list[Decimal]) -> object:
    if near and rng.random() < 0.5:  # at, just past or well past a threshold the policy compares with
        value = rng.choice(near) * rng.choice([1, 1, 2, 5]) + rng.choice([Decimal(0), Decimal("0.01"), Decimal(-1)])
    else:  # anything from fen to a few 亿元, evenly over the orders of magnitude
        value = (Decimal(10) ** rng.randint(0, 9) * Decimal(rng.randint(100, 999)) / 100).quantize(Decimal("0.01"))
    value = max(Decimal(0), value)
    form = rng.randrange(4)
    if form == 0:
        return int(value) if value == int(value) else str(value)
    if form == 1:
        return f"{(value / 10000).normalize():f}万元"
    return f"{value:f}" if form == 2 else f"{int(value):,}元"


def plausible_value(rng: random.Random, kind: str, extra: dict, near: list[Decimal]) -> object:
    if kind == "boolean":
        return rng.random() < 0.85
    if kind == "money":
        return money_text(rng, near)
    if kind == "number":
        return rng.choice([rng.randint(0, 5000), float(rng.randint(0, 500)) / 2, *(near[:3] and [str(near[0])])])
    if kind == "integer":
        return rng.randint(0, 60)
    if kind == "percent":
        top = int((extra.get("max") or Decimal(1)) * 100)
        return f"{rng.randint(0, top)}%"
    if kind == "date":
        return (dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 3000))).isoformat()
    if kind == "list":
        return [{name: plausible_value(rng, t, {}, near) for name, t in extra.get("items", {}).items()
                 if rng.random() < 0.8} for _ in range(rng.randint(0, 5))]
    return rng.choice(extra["choices"]) if extra.get("choices") else rng.choice(["甲公司", "x", "示例"])


def plausible_facts(rng: random.Random, declared: Declared) -> dict:
    kind = rng.choice(declared.kinds)
    data: dict[str, object] = {"applicant": "模糊测试公司", "recipient": kind}
    if declared.areas:
        data["area"] = rng.choice(declared.areas)
    days = max(1, (declared.end - declared.start).days)
    data["date"] = (declared.start + dt.timedelta(days=rng.randint(0, days))).isoformat()
    data["facts"] = {name: plausible_value(rng, t, extra, declared.numbers)
                     for name, t, extra in declared.facts.get(kind, []) if rng.random() < 0.96}
    data["granted"] = {cid: money_text(rng, []) for cid in declared.clauses if rng.random() < 0.15}
    return data


# --- YAML-aware mutations ----------------------------------------------------------------------------------

def nodes(tree: object, path: tuple = ()) -> list[tuple[tuple, object]]:
    """Every (path, value) of a loaded YAML tree, depth first."""
    out = [(path, tree)]
    if isinstance(tree, dict):
        for key, value in tree.items():
            out += nodes(value, path + (key,))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            out += nodes(value, path + (i,))
    return out


def put(tree: object, path: tuple, value: object) -> object:
    if not path:
        return value
    target = tree
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    return tree


def pick(rng: random.Random, tree: object, want) -> tuple | None:
    found = [p for p, v in nodes(tree) if p and want(p, v)]
    return rng.choice(found) if found else None


def is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


NUMBER_IN_TEXT = re.compile(r"(?<![A-Za-z_0-9.])\d+(?:\.\d+)?")  # not inside a name such as award_800w


NAMES = ("id", "extends", "reading", "readings", "members", "requires", "bonus_to", "refers_to", "policy", "language")


def has_number(path: tuple, value: object) -> bool:
    if any(key in NAMES for key in path if isinstance(key, str)):
        return False  # an id, a name or a reference, not an amount
    return is_number(value) or (isinstance(value, str) and NUMBER_IN_TEXT.search(value) is not None)


def m_number(tree, rng):
    path = pick(rng, tree, has_number)
    if path is None:
        return tree
    value = dict(nodes(tree))[path]
    if isinstance(value, str):
        numbers = list(NUMBER_IN_TEXT.finditer(value))
        m = rng.choice(numbers)
        new = str(wild_number(rng, Decimal(m.group(0))))
        return put(tree, path, value[: m.start()] + new + value[m.end():])
    return put(tree, path, wild_number(rng, value))


def m_date(tree, rng):
    path = pick(rng, tree, lambda p, v: isinstance(v, dt.date) or (isinstance(v, str) and re.fullmatch(
        r"\d{4}-\d{2}-\d{2}", v) is not None))
    if path is None:
        return tree
    value = dict(nodes(tree))[path]
    if isinstance(value, dt.date) and rng.random() < 0.5:
        return put(tree, path, value + dt.timedelta(days=rng.choice([-1, 1, -366, 3650])))
    return put(tree, path, rng.choice(DATES))


def looks_like_expression(path: tuple, value: object) -> bool:
    return isinstance(value, str) and bool(path) and path[-1] in ("if", "base", "rate", "cap", "where", "fixed",
                                                                   "per_unit", "quantity", "each", "amount", "periods")


def m_operator(tree, rng):
    path = pick(rng, tree, looks_like_expression)
    if path is None:
        return tree
    value = dict(nodes(tree))[path]
    present = [op for op in OPERATORS if op in value]
    if present and rng.random() < 0.8:
        old = rng.choice(present)
        family = next((f for f in FAMILIES if old in f), OPERATORS)
        new = rng.choice(family if rng.random() < 0.8 else OPERATORS)  # mostly one that still type-checks
        return put(tree, path, value.replace(old, new, 1))
    if rng.random() < 0.6:
        return put(tree, path, value + rng.choice(EXPRESSION_TAILS))
    depth = rng.choice([30, 200, 2000])
    return put(tree, path, rng.choice(["(" * depth + value + ")" * depth, " + ".join([value] * depth),
                                       "not " * depth + value]))


def clauses_of(tree) -> list | None:
    return tree.get("clauses") if isinstance(tree, dict) and isinstance(tree.get("clauses"), list) else None


def award_clauses(tree) -> list[dict]:
    return [c for c in clauses_of(tree) or [] if isinstance(c, dict) and "award" in c]


def m_swap_clauses(tree, rng):
    clauses = clauses_of(tree)
    if clauses and len(clauses) > 1:
        i, j = rng.sample(range(len(clauses)), 2)
        clauses[i], clauses[j] = clauses[j], clauses[i]
    return tree


def m_duplicate_clause(tree, rng):
    clauses = clauses_of(tree)
    if clauses:
        copy = deepcopy(rng.choice(clauses))
        if isinstance(copy, dict) and rng.random() < 0.6:
            copy["id"] = f"{copy.get('id', 'x')}.{rng.randint(1, 99)}"
        clauses.insert(rng.randrange(len(clauses) + 1), copy)
    return tree


def m_delete_key(tree, rng):
    path = pick(rng, tree, lambda p, v: True)
    if path is None:
        return tree
    parent = dict(nodes(tree))[path[:-1]]
    if isinstance(parent, dict):
        del parent[path[-1]]
    elif isinstance(parent, list):
        del parent[path[-1]]
    return tree


def m_retype(tree, rng):
    path = pick(rng, tree, lambda p, v: True)
    if path is None:
        return tree
    return put(tree, path, rng.choice(HOSTILE_SCALARS))


def m_unicode(tree, rng):
    path = pick(rng, tree, lambda p, v: isinstance(v, str))
    if path is None:
        return tree
    value = dict(nodes(tree))[path]
    insert = rng.choice(["\ud800", "\udc00", "\x00", "\x01", "\x1b", "\x7f", "\ufffe", "\uffff", "\u202e", "\u200b",
                         "\ufeff", "\r", "\t", "\u0301", "😀", "𠀀", "\U0010ffff", "\x85", "\u2028", "x" * 100_000])
    at = rng.randint(0, len(value))
    return put(tree, path, value[:at] + insert + value[at:])


def m_huge_number(tree, rng):
    path = pick(rng, tree, has_number)
    if path is None:
        return tree
    value = dict(nodes(tree))[path]
    huge = rng.choice(["9" * rng.choice([17, 30, 60, 400]), "1" + "0" * 80, "0." + "0" * 40 + "1"])
    if isinstance(value, str):
        return put(tree, path, NUMBER_IN_TEXT.sub(huge, value, count=1))
    return put(tree, path, int(huge) if "." not in huge else huge)


def m_deep_nesting(tree, rng):
    path = pick(rng, tree, lambda p, v: True)
    if path is None:
        return tree
    depth = rng.choice([20, 100, 400])
    nested: object = dict(nodes(tree))[path]
    for _ in range(depth):
        nested = [nested] if rng.random() < 0.5 else {"k": nested}
    return put(tree, path, nested)


def m_requires_chain(tree, rng):
    awards = award_clauses(tree)
    if not awards:
        return tree
    template = rng.choice(awards)
    length = rng.choice([10, 100, 600, 1200])
    previous = template.get("id")
    for i in range(length):
        clause = deepcopy(template)
        clause["id"] = f"r{i}"
        clause["requires"] = [previous]
        clause.pop("reading", None)
        tree["clauses"].append(clause)
        previous = clause["id"]
    if rng.random() < 0.2:  # and back to the start: a cycle
        template["requires"] = [previous]
    return tree


def m_big_group(tree, rng):
    awards = award_clauses(tree)
    if not awards:
        return tree
    template = rng.choice(awards)
    size = rng.choice([20, 200, 1000])
    ids = []
    for i in range(size):
        clause = deepcopy(template)
        clause["id"] = f"g{i}"
        clause.pop("reading", None)
        tree["clauses"].append(clause)
        ids.append(clause["id"])
    tree.setdefault("groups", [])
    if isinstance(tree["groups"], list):
        tree["groups"].append({"id": "fuzz-group", "members": ids, "pick": rng.choice(["best", "all", "first"])})
    return tree


def m_links(tree, rng):
    if not isinstance(tree, dict):
        return tree
    choice = rng.randrange(4)
    if choice == 0:
        tree["extends"] = tree.get("id", "x")  # itself
    elif choice == 1:
        tree["extends"] = rng.choice(["no-such-policy", "../../../etc/passwd", "lishui-2021-67", "datong-2021-46"])
    elif choice == 2:
        clauses = clauses_of(tree)
        if clauses and isinstance(clauses[0], dict):
            clauses[0]["refers_to"] = rng.choice(["不存在〔2020〕1号", tree.get("document", "x")])
    else:
        groups = tree.get("groups")
        if isinstance(groups, list) and groups and isinstance(groups[0], dict):
            groups[0]["members"] = list(groups[0].get("members", [])) + ["no-such-clause", "2.2"]
    return tree


def m_fact_value(tree, rng):
    """Facts files and test cases: a hostile value for a fact, a grant, the recipient, area or date."""
    path = pick(rng, tree, lambda p, v: len(p) >= 2 and p[-2] in ("facts", "granted") or
                (p and p[-1] in ("recipient", "area", "date", "applicant")))
    if path is None:
        return m_retype(tree, rng)
    choice = rng.random()
    if choice < 0.6:
        return put(tree, path, rng.choice(HOSTILE_SCALARS))
    if choice < 0.8:
        return put(tree, path, wild_number(rng, dict(nodes(tree))[path]))
    return put(tree, path, [{"name": "x", "annual_turnover": 1} for _ in range(rng.choice([3, 1000, 10_001]))])


def m_unknown_key(tree, rng):
    path = pick(rng, tree, lambda p, v: isinstance(v, dict)) or ()
    target = dict(nodes(tree))[path]
    if isinstance(target, dict):
        target[rng.choice(["zz", "交易额", "rat", "when", "Facts", "1", "__proto__"])] = rng.choice(HOSTILE_SCALARS)
    return tree


def m_multiply_cases(tree, rng):
    cases = tree.get("cases") if isinstance(tree, dict) else None
    if isinstance(cases, list) and cases:
        tree["cases"] = cases * rng.choice([2, 50, 400])
    return tree


def m_expectation(tree, rng):
    path = pick(rng, tree, lambda p, v: "expect" in p)
    if path is None:
        return tree
    return put(tree, path, rng.choice(["eligible", "ineligible", "undetermined", "referred", "not_applicable",
                                       "bogus", {"outcome": "eligible", "amount": rng.choice(HOSTILE_SCALARS)},
                                       {"outcome": "ineligible", "reason": 5}, {"missing": "abc"},
                                       {"amount": "50%"}, {"amount": " + ".join(["1"] * 30)}]))


TREE_OPS = {
    "policy": [(m_number, 10), (m_date, 3), (m_operator, 8), (m_swap_clauses, 3), (m_duplicate_clause, 3),
               (m_delete_key, 3), (m_retype, 2), (m_unicode, 2), (m_huge_number, 3), (m_deep_nesting, 1),
               (m_requires_chain, 1), (m_big_group, 1), (m_links, 1), (m_unknown_key, 1)],
    "facts": [(m_fact_value, 10), (m_number, 4), (m_date, 2), (m_delete_key, 3), (m_retype, 2), (m_unicode, 3),
              (m_huge_number, 2), (m_unknown_key, 2), (m_deep_nesting, 1)],
    "tests": [(m_fact_value, 6), (m_number, 4), (m_expectation, 4), (m_date, 2), (m_delete_key, 3), (m_retype, 2),
              (m_unicode, 2), (m_multiply_cases, 1), (m_unknown_key, 1)],
}


# --- text and byte mutations --------------------------------------------------------------------------------

TEXT_VALUES = ['"\\ud800"', '"\\udfff x"', '"\\x01"', '"\\x00"', '"\\uFFFE"', "1e5", "-0", ".nan", ".inf", "-.inf",
               "0x1F", "0o17", "1_000", "yes", "no", "~", "!!python/object/apply:os.system ['true']", "*nowhere",
               "&a [*a]", "{", '"unterminated', "'''", "|", "\t1", "99999999999999999", "1" * 400,
               "[" * 5000 + "]" * 5000, "!!binary aGVsbG8=", "2024-02-30", "<<: {a: 1}", "? [a, b]"]


def text_mutation(text: str, rng: random.Random) -> tuple[str, str]:
    lines = text.split("\n")
    keyed = [i for i, line in enumerate(lines) if re.match(r"^\s*(- )?[\w\"'.-]+:\s*\S", line)]
    choice = rng.randrange(7)
    if choice <= 2 and keyed:
        i = rng.choice(keyed)
        key = lines[i].split(":", 1)[0]
        lines[i] = f"{key}: {rng.choice(TEXT_VALUES)}"
        return "\n".join(lines), "text-value"
    if choice == 3 and keyed:
        i = rng.choice(keyed)
        lines.insert(i + 1, lines[i])  # a duplicate key
        return "\n".join(lines), "text-duplicate-key"
    if choice == 4:
        bomb = ["fuzz_a: &a [x, x, x, x, x, x, x, x, x]"]
        for n in range(1, rng.choice([3, 9])):
            bomb.append(f"fuzz_{n}: &a{n} [{', '.join(['*a' if n == 1 else f'*a{n - 1}'] * 9)}]")
        return "\n".join(bomb) + "\n" + text, "text-alias-bomb"
    if choice == 5:
        return text.replace("\n", "\r\n") if rng.random() < 0.5 else "\ufeff" + text, "text-line-ends-bom"
    i = rng.randrange(len(lines)) if lines else 0
    lines.insert(i, "\t" + (lines[i] if i < len(lines) else ""))
    return "\n".join(lines), "text-tab"


def byte_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    buf = bytearray(data)
    if not buf:
        return bytes(rng.randbytes(8)), "bytes-random"
    choice = rng.randrange(7)
    at = rng.randrange(len(buf))
    if choice == 0:
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        return bytes(buf), "bytes-flip"
    if choice == 1:
        buf[at:at] = rng.choice([b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", rng.randbytes(4)])
        return bytes(buf), "bytes-insert"
    if choice == 2:
        del buf[at: at + rng.randint(1, 200)]
        return bytes(buf), "bytes-delete"
    if choice == 3:
        end = min(len(buf), at + rng.randint(1, 400))
        buf[at:at] = buf[at:end] * rng.choice([1, 2, 50])
        return bytes(buf), "bytes-duplicate"
    if choice == 4:
        return bytes(buf[:at]), "bytes-truncate"
    if choice == 5:
        lines = bytes(buf).split(b"\n")
        if len(lines) > 2:
            i, j = rng.sample(range(len(lines)), 2)
            lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines), "bytes-swap-lines"
    buf[at] = rng.randrange(256)
    return bytes(buf), "bytes-replace"


def dump(tree: object) -> str:
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False, width=10**9)


def mutate(text: str, rng: random.Random, role: str) -> tuple[bytes, list[str]]:
    """A mutant of a YAML file's text: tree operations (mostly), then sometimes a text or a byte mutation."""
    ops: list[str] = []
    out = text
    if rng.random() < 0.85:
        try:
            tree = yaml.safe_load(text)
        except yaml.YAMLError:
            tree = None
        if tree is not None:
            table = TREE_OPS[role]
            for _ in range(rng.choice([1, 1, 1, 1, 2, 3])):
                op = rng.choices([f for f, _ in table], weights=[w for _, w in table])[0]
                try:
                    tree = op(tree, rng)
                except (KeyError, IndexError, TypeError):
                    continue
                ops.append(op.__name__[2:].replace("_", "-"))
            try:
                out = dump(tree)
            except (RecursionError, yaml.YAMLError, ValueError):
                ops.append("dump-failed")
                out = text
    if not ops or rng.random() < 0.1:
        out, op_name = text_mutation(out, rng)
        ops.append(op_name)
    data = out.encode("utf-8", "surrogatepass")
    if rng.random() < 0.07:
        data, op_name = byte_mutation(data, rng)
        ops.append(op_name)
    return data, ops


# --- cases ---------------------------------------------------------------------------------------------------

@dataclass
class Run:
    command: str  # a name for counting: evaluate, evaluate-json, render-html, ...
    argv: list[str]  # after the command prefix; paths relative to the case folder
    case: "Case"


@dataclass
class Case:
    index: int
    kind: str  # policy | facts | tests
    seed: str  # the seed file it was made from
    folder: Path
    ops: list[str]
    files: list[str] = field(default_factory=list)  # inputs, relative to the folder
    runs: list[Run] = field(default_factory=list)
    policy_file: str = ""  # relative
    left: int = 0  # runs not yet finished


class Maker:
    def __init__(self, seed: int, work: Path):
        self.seed = seed
        self.work = work
        self.policies, self.facts_pool = find_seeds()
        self.declared = {s.path: Declared(s) for s in self.policies}

    def case(self, index: int) -> Case:
        rng = random.Random(f"{self.seed}:{index}")
        kind = rng.choices(["policy", "facts", "tests"], weights=[5, 4, 2])[0]
        seed = rng.choice(self.policies)
        if kind == "tests" and seed.tests is None:
            kind = "facts"
        folder = self.work / f"case-{index:06d}"
        (folder / "out").mkdir(parents=True)
        case = Case(index, kind, "", folder, [])
        # the policy, its parent beside it (extends: by id), its tests file beside it (policy: by name)
        policy_name = seed.path.name
        policy_text = seed.path.read_text(encoding="utf-8")
        if seed.parent is not None:
            shutil.copy(seed.parent, folder / seed.parent.name)
            case.files.append(seed.parent.name)
        (folder / "orig").mkdir()
        shutil.copy(seed.path, folder / "orig" / policy_name)
        case.files.append(f"orig/{policy_name}")
        if kind == "policy":
            data, ops = mutate(policy_text, rng, "policy")
            (folder / policy_name).write_bytes(data)
            case.ops += ops
            case.seed = str(seed.path.relative_to(ROOT))
        else:
            shutil.copy(seed.path, folder / policy_name)
        case.files.append(policy_name)
        case.policy_file = policy_name
        tests_name = ""
        if seed.tests is not None:
            tests_name = seed.tests.name
            tests_text = seed.tests.read_text(encoding="utf-8")
            if kind == "tests":
                data, ops = mutate(tests_text, rng, "tests")
                (folder / tests_name).write_bytes(data)
                case.ops += ops
                case.seed = str(seed.tests.relative_to(ROOT))
            else:
                (folder / tests_name).write_text(tests_text, encoding="utf-8")
            case.files.append(tests_name)
        facts_text = self.facts_text(rng, seed)
        if kind == "facts":
            data, ops = mutate(facts_text[1], rng, "facts")
            case.ops += ops
            case.seed = facts_text[0]
        else:
            data = facts_text[1].encode("utf-8")
        (folder / "facts.yaml").write_bytes(data)
        case.files.append("facts.yaml")
        lang = ["--lang", "en"] if rng.random() < 0.2 else []
        p, f = policy_name, "facts.yaml"
        if kind == "policy":
            declared = self.declared[seed.path]
            recipient = ["--recipient", rng.choice(declared.kinds)] if declared.kinds and rng.random() < 0.5 else []
            areas = declared.areas if declared.areas and rng.random() < 0.7 else ["青田县", "", "x"]
            area = rng.choice(areas)
            on = ["--on", rng.choice(DATES[5:])] if rng.random() < 0.2 else []
            cases = ["--cases", f] if rng.random() < 0.4 else []
            commands = [
                ("validate", ["validate", p]),
                ("evaluate", ["evaluate", p, f, *on]),
                ("evaluate-json", ["evaluate", p, f, "--format", "json", *on]),
                ("facts", ["facts", p, *recipient]),
                ("test", ["test", p] + ([tests_name] if tests_name else [])),
                ("lint", ["lint", p]),
                ("render-html", ["render", p, "--format", "html", "-o", "out/review.html"]),
                ("render-markdown", ["render", p, "--format", "markdown", "-o", "out/review.md"]),
                ("diff", ["diff", f"orig/{policy_name}", p, *cases]),
                ("fork", ["fork", p, "--id", "fuzz-county", "--jurisdiction", area, "-o", "out/fork.yaml"]),
                ("show", ["show", p, "--resolved"]),
            ]
        elif kind == "facts":
            commands = [("evaluate", ["evaluate", p, f]), ("evaluate-json", ["evaluate", p, f, "--format", "json"])]
            if rng.random() < 0.3:
                commands.append(("diff", ["diff", f"orig/{policy_name}", p, "--cases", f]))
        else:
            commands = [("test", ["test", p, tests_name])]
            if rng.random() < 0.3:
                commands.append(("diff", ["diff", f"orig/{policy_name}", p, "--cases", tests_name]))
        case.runs = [Run(name, argv + lang, case) for name, argv in commands]
        case.left = len(case.runs)
        return case

    def facts_text(self, rng: random.Random, seed: SeedPolicy) -> tuple[str, str]:
        """(where from, text) of a facts file for this policy: a bundled one, or one written from its declarations."""
        declared = self.declared[seed.path]
        if seed.facts and (not declared.kinds or rng.random() < 0.5):
            path = rng.choice(seed.facts)
            return str(path.relative_to(ROOT.parent) if REPRO in path.parents else path.relative_to(ROOT)), \
                path.read_text(encoding="utf-8")
        if declared.kinds:
            return f"generated for {seed.path.name}", dump(plausible_facts(rng, declared))
        path = rng.choice(self.facts_pool)  # a facts file for another policy: mostly problems, never a crash
        return str(path.name), path.read_text(encoding="utf-8")


# --- running -------------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    run: Run
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"POLICY_CACHE": "0", "POLICY_DEBUG": "1", "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8",
                "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})
    return env


def _limits() -> None:  # in the child, before exec
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass


def execute(run: Run, prefix: list[str], timeout: float, env: dict[str, str]) -> Outcome:
    folder = run.case.folder
    out_path, err_path = folder / "out" / f"{run.command}.stdout", folder / "out" / f"{run.command}.stderr"
    start = time.monotonic()
    timed_out = False
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(prefix + run.argv, cwd=folder, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_limits)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what this run started
            except ProcessLookupError:
                pass
            proc.wait()
    seconds = time.monotonic() - start
    stdout = out_path.read_bytes()[: 20_000_000].decode("utf-8", "replace")
    stderr = err_path.read_bytes()[-200_000:].decode("utf-8", "replace")
    return Outcome(run, None if timed_out else proc.returncode, stdout, stderr, seconds, timed_out)


# --- classifying ---------------------------------------------------------------------------------------------

@dataclass
class Finding:
    kind: str
    signature: str
    where: str = ""  # the innermost frame in the project, for the report


def traceback_tail(stderr: str) -> tuple[str | None, str]:
    """The last traceback's exception line, and its innermost frame in this repository ("" if none)."""
    at = stderr.rfind(TRACEBACK)
    if at < 0:
        return None, ""
    where = ""
    last = None
    for line in stderr[at:].splitlines()[1:]:
        frame = re.match(r'\s*File "([^"]+)", line (\d+), in (\S+)', line)
        if frame:
            path = frame.group(1)
            if str(ROOT) in path and "site-packages" not in path:
                where = f"{os.path.relpath(path, ROOT)}:{frame.group(2)} in {frame.group(3)}"
            continue
        if line.strip() and not line.startswith((" ", "\t")):
            last = line.strip()
            break
    return last, where


def normalize(text: str) -> str:
    text = re.sub(r"/tmp/[^\s'\"]*", "<path>", text)
    text = re.sub(r"'[^']{40,}'", "'…'", text)
    text = re.sub(r"\d+", "N", text)
    return text[:240]


def invariant_problems(stdout: str, round_to: Decimal, validator) -> list[str]:
    """What is wrong with the JSON of an evaluation that exited 0 (empty if nothing)."""
    try:
        data = json.loads(stdout)
    except ValueError:
        return ["evaluate --format json: stdout is not JSON"]
    problems = []
    if validator is not None:
        errors = list(validator.iter_errors(data))
        if errors:
            error = min(errors, key=lambda e: len(list(e.absolute_path)))
            where = "/".join("N" if isinstance(p, int) else str(p) for p in error.absolute_path)
            problems.append(f"JSON does not match schemas/result.schema.json: {error.validator} at {where}")
    try:
        clauses = data["clauses"]
        total = Decimal(data["total"]["amount"])
        paid = Decimal(0)
        for clause in clauses:
            raw = clause.get("amount")
            if raw is None:
                continue
            amount = Decimal(raw)
            if amount < 0:
                problems.append("a negative amount")
            if amount == 0 and str(raw).startswith("-"):
                problems.append("an amount of -0")
            if round_to > 0 and amount % round_to != 0:
                problems.append("an amount that is not a whole number of fen (money.round_to)")
            if clause.get("outcome") == "eligible":
                paid += amount
        if total != paid:
            problems.append("total is not the sum of the eligible amounts")
        if str(data["total"]["amount"]).startswith("-") and total == 0:
            problems.append("a total of -0")
        if total < 0:
            problems.append("a negative total")
    except (KeyError, TypeError, ValueError, InvalidOperation, ArithmeticError) as error:
        problems.append(f"JSON lacks clauses/amounts/total in the expected shape ({type(error).__name__})")
    return sorted(set(problems))


def classify(command: str, returncode: int | None, stdout: str, stderr: str, timed_out: bool, timeout: float,
             round_to: Decimal = Decimal("0.01"), validator=None, hint: str = "") -> list[Finding]:
    """The findings of one run: a hang, a signal, exit 3, a traceback, an odd exit code, or broken invariants."""
    if timed_out:
        return [Finding("hang", f"{command} did not finish in {timeout:g} s" + (f" ({hint})" if hint else ""))]
    assert returncode is not None
    last, where = traceback_tail(stderr)
    if returncode < 0:
        return [Finding("signal", f"{command} killed by signal {-returncode}", where)]
    if returncode == 3:
        if last is None:
            internal = re.search(r"(?:内部错误|[Ii]nternal error)[：:]\s*(.+)", stderr)
            last = internal.group(1).strip() if internal else "exit 3 without a message"
        return [Finding("exit3", normalize(last), where)]
    if last is not None:
        return [Finding("traceback", normalize(last), where)]
    if returncode not in (0, 1, 2):
        return [Finding("exit-code", f"{command} exited {returncode}")]
    if command == "evaluate-json" and returncode == 0:
        return [Finding("invariant", problem) for problem in invariant_problems(stdout, round_to, validator)]
    return []


def round_to_of(path: Path) -> Decimal:
    """The money step a (mutated) policy declares; the fen when it declares none or cannot be read."""
    try:
        money = yaml.safe_load(path.read_bytes().decode("utf-8")).get("money", {})
        step = Decimal(str(money.get("round_to", "0.01")))
        return step if step.is_finite() and step > 0 else Decimal("0.01")
    except Exception:  # any unreadable mutant
        return Decimal("0.01")


HEAVY_OPS = ("big-group", "requires-chain", "deep-nesting", "multiply-cases", "text-alias-bomb", "fact-value",
             "unicode", "operator", "huge-number")


# --- the loop ------------------------------------------------------------------------------------------------

@dataclass
class Distinct:
    kind: str
    signature: str
    where: str
    count: int = 0
    commands: Counter = field(default_factory=Counter)
    saved: list[str] = field(default_factory=list)


class Fuzzer:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.prefix = shlex.split(args.command) if args.command else [sys.executable, str(ROOT / "cli.py")]
        self.out = Path(args.out)
        self.env = environment()
        self.work = Path(tempfile.mkdtemp(prefix="policy-fuzz-"))
        self.maker = Maker(args.seed, self.work)
        self.runs = Counter()
        self.inputs = Counter()
        self.kinds = Counter()
        self.codes = Counter()
        self.distinct: dict[tuple[str, str], Distinct] = {}
        self.lock = threading.Lock()
        try:
            from jsonschema import Draft202012Validator

            schema = json.loads((ROOT / "schemas" / "result.schema.json").read_text(encoding="utf-8"))
            self.validator = Draft202012Validator(schema)
        except Exception:  # without jsonschema, the other invariants still hold
            self.validator = None

    def prepare_out(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        for old in self.out.iterdir():  # only what an earlier fuzz run saved there
            if old.is_dir() and (old / MARKER).exists():
                shutil.rmtree(old)
        for name in ("summary.txt", "findings.json"):
            (self.out / name).unlink(missing_ok=True)

    def record(self, outcome: Outcome) -> None:
        run = outcome.run
        case = run.case
        self.runs[run.command] += 1
        self.codes["timeout" if outcome.timed_out else str(outcome.returncode)] += 1
        hint = next((op for op in case.ops if op in HEAVY_OPS[:5]), "")
        round_to = round_to_of(case.folder / case.policy_file) if run.command == "evaluate-json" else Decimal("0.01")
        findings = classify(run.command, outcome.returncode, outcome.stdout, outcome.stderr, outcome.timed_out,
                            self.args.timeout, round_to, self.validator, hint)
        for finding in findings:
            self.kinds[finding.kind] += 1
            key = (finding.kind, finding.signature)
            entry = self.distinct.get(key)
            if entry is None:
                entry = self.distinct[key] = Distinct(finding.kind, finding.signature, finding.where)
                print(f"  new finding [{finding.kind}] {finding.signature}  ({run.command}, case {case.index})",
                      flush=True)
            entry.count += 1
            entry.commands[run.command] += 1
            if len(entry.saved) < SAMPLES_PER_FINDING:
                entry.saved.append(self.save(entry, outcome))

    def save(self, entry: Distinct, outcome: Outcome) -> str:
        number = list(self.distinct).index((entry.kind, entry.signature)) + 1
        slug = re.sub(r"[^\w]+", "-", entry.signature.encode("ascii", "ignore").decode())[:40].strip("-").lower()
        target = self.out / f"{entry.kind}-{number:03d}-{slug}" / f"sample-{len(entry.saved) + 1}"
        target.mkdir(parents=True, exist_ok=True)
        (target.parent / MARKER).touch()
        case = outcome.run.case
        for name in case.files:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(case.folder / name, target / name)
        (target / "out").mkdir(exist_ok=True)
        command = " ".join(shlex.quote(a) for a in self.prefix + outcome.run.argv)
        (target / "command.sh").write_text(
            "#!/bin/sh\n# " + f"{entry.kind}: {entry.signature}\n# from {case.seed} by {', '.join(case.ops)}\n"
            f'cd "$(dirname "$0")" && POLICY_CACHE=0 POLICY_DEBUG=1 {command}\n', encoding="utf-8")
        (target / "stderr.txt").write_text(outcome.stderr[-8000:], encoding="utf-8")
        (target / "stdout.txt").write_text(outcome.stdout[:8000], encoding="utf-8")
        return str(target)

    def progress(self, started: float, cases: int) -> None:
        elapsed = int(time.monotonic() - started)
        kinds = ", ".join(f"{k} {self.kinds[k]}" for k in KINDS if self.kinds[k]) or "none"
        print(f"[{elapsed // 60}:{elapsed % 60:02d}] {cases} inputs, {sum(self.runs.values())} runs, "
              f"{len(self.distinct)} distinct findings ({kinds})", flush=True)

    def finish_case(self, case: Case) -> None:
        case.left -= 1
        if case.left == 0 and not self.args.keep:
            shutil.rmtree(case.folder, ignore_errors=True)

    def run(self) -> int:
        args = self.args
        duration = args.seconds if args.seconds is not None else args.minutes * 60
        self.prepare_out()
        started = time.monotonic()
        deadline = started + duration
        next_progress = started + args.progress
        print(f"fuzz: seed {args.seed}, {duration:g} s, {args.workers} workers, timeout {args.timeout:g} s, "
              f"findings to {self.out}", flush=True)
        pending: dict[Future, Run] = {}
        index = 0
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            while time.monotonic() < deadline and (args.cases is None or index < args.cases):
                case = self.maker.case(index)
                self.inputs[case.kind] += 1
                index += 1
                for run in case.runs:
                    pending[pool.submit(execute, run, self.prefix, args.timeout, self.env)] = run
                while len(pending) >= args.workers * 3 or (pending and time.monotonic() >= deadline and
                                                            args.cases is None):
                    if time.monotonic() >= deadline and args.cases is None:
                        for future in [f for f in pending if f.cancel()]:  # not started: not run, not counted
                            self.finish_case(pending.pop(future).case)
                    if not pending:
                        break
                    done, _ = wait(pending, timeout=5, return_when=FIRST_COMPLETED)
                    for future in done:
                        run = pending.pop(future)
                        self.record(future.result())
                        self.finish_case(run.case)
                    if time.monotonic() >= next_progress:
                        self.progress(started, index)
                        next_progress += args.progress
            for future in list(pending):
                run = pending.pop(future)
                if not future.cancelled():
                    self.record(future.result())
                self.finish_case(run.case)
        if self.args.keep:
            print(f"cases kept in {self.work}", flush=True)
        else:
            shutil.rmtree(self.work, ignore_errors=True)
        return self.report(started, index)

    def report(self, started: float, cases: int) -> int:
        elapsed = time.monotonic() - started
        lines = [f"fuzz summary: seed {self.args.seed}, {elapsed:.0f} s, {cases} inputs "
                 f"({', '.join(f'{k} {v}' for k, v in sorted(self.inputs.items()))}), "
                 f"{sum(self.runs.values())} runs",
                 "runs per command: " + ", ".join(f"{k} {v}" for k, v in sorted(self.runs.items())),
                 "exit codes: " + ", ".join(f"{k} {v}" for k, v in sorted(self.codes.items())),
                 "findings per kind: " + ", ".join(f"{k} {self.kinds[k]}" for k in KINDS),
                 f"distinct findings: {len(self.distinct)}"]
        for entry in sorted(self.distinct.values(), key=lambda e: (KINDS.index(e.kind), -e.count, e.signature)):
            commands = ", ".join(f"{c} {n}" for c, n in entry.commands.most_common())
            where = f" at {entry.where}" if entry.where else ""
            lines.append(f"  [{entry.kind}] {entry.signature}{where} — {entry.count} runs ({commands}); "
                         f"e.g. {entry.saved[0] if entry.saved else '-'}")
        text = "\n".join(lines)
        print(text, flush=True)
        if self.distinct or any(self.runs.values()):
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "summary.txt").write_text(text + "\n", encoding="utf-8")
            (self.out / "findings.json").write_text(json.dumps(
                [{"kind": e.kind, "signature": e.signature, "where": e.where, "count": e.count,
                  "commands": dict(e.commands), "saved": e.saved} for e in self.distinct.values()],
                ensure_ascii=False, indent=2), encoding="utf-8")
        return 1 if self.distinct else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    span = parser.add_mutually_exclusive_group()
    span.add_argument("--minutes", type=float, default=5.0, help="how long to fuzz (default 5)")
    span.add_argument("--seconds", type=float, default=None, help="how long to fuzz, in seconds")
    parser.add_argument("--cases", type=int, default=None, help="stop after this many inputs (then no time limit)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="/tmp/fuzz-findings", help="where findings are saved")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per run; longer is a hang")
    parser.add_argument("--progress", type=float, default=60.0, help="seconds between progress lines")
    parser.add_argument("--keep", action="store_true", help="keep every case's folder (to look at the mutants)")
    parser.add_argument("--target", choices=["cli", "batch", "service", "all"], default="cli",
                        help="cli: every command on mutated policies and facts (the default); batch: mutated rounds "
                             "through `policy batch`; service: mutated requests through the HTTP app; all: each "
                             "in turn, the time shared")
    parser.add_argument("--command", default=None,
                        help="the command to fuzz instead of 'python cli.py' (split like a shell would)")
    args = parser.parse_args(argv)
    if args.cases is not None and args.seconds is None and "--minutes" not in (argv or sys.argv):
        args.seconds = float("inf")
    return args


def run_targets(args: argparse.Namespace) -> int:
    """The batch and service targets (scripts/fuzz_targets.py), and with --target all the cli target too."""
    import fuzz_targets

    duration = args.seconds if args.seconds is not None else args.minutes * 60
    names = ["cli", "batch", "service"] if args.target == "all" else [args.target]
    share = duration / len(names)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():  # only what an earlier fuzz run saved there
        if old.is_dir() and (old / MARKER).exists():
            shutil.rmtree(old)
    found = 0
    lines: list[str] = []
    recorded: list[dict] = []
    for name in names:
        started = time.monotonic()
        print(f"fuzz: target {name}, seed {args.seed}, {share:g} s, findings to {out}", flush=True)
        if name == "cli":
            sub = argparse.Namespace(**{**vars(args), "seconds": share, "out": str(out / "cli")})
            found += Fuzzer(sub).run()
            continue
        if name == "batch":
            recorder = fuzz_targets.batch_target(args.seed, share, out, timeout=args.timeout * 3, cases=args.cases)
        else:
            recorder = fuzz_targets.service_target(args.seed, share, out, cases=args.cases)
        found += bool(recorder.distinct)
        lines += recorder.summary(time.monotonic() - started)
        recorded += recorder.json()
    text = "\n".join(["fuzz summary: seed " + str(args.seed), *lines])
    print(text, flush=True)
    (out / "summary.txt").write_text(text + "\n", encoding="utf-8")
    (out / "findings.json").write_text(json.dumps(recorded, ensure_ascii=False, indent=2), encoding="utf-8")
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.target != "cli":
        return run_targets(args)
    return Fuzzer(args).run()


if __name__ == "__main__":
    sys.exit(main())
