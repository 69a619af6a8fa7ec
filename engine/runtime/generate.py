"""A plan as generated Python: one function per clause and per exclusive group, for untraced evaluations.

`generated(policy)` writes the policy's plan out as Python source (each clause's conditions, its award form's
own code, what was granted, its cap, rounding and offset, in the order `engine.runtime.interpret._Run.decide`
takes them), compiles that text alone into a fresh namespace holding only what it needs, and keeps it with the
plan. Nothing the author wrote becomes code: names are read through `repr` of their text, literals, clauses and
reasons are constants of the namespace.

The generated code is the fast path of the interpreter, as the closures' fast path is of the Kleene one: it
decides a clause when everything the clause reads is there and computable. A clause that meets something
missing (a fact, a parameter on the day, what was granted, a division by zero, a number too large), or an
earlier clause it builds on that is not plainly eligible, is decided by the interpreter, which stays the
reference and the only traced path; so is an exclusive group when earlier grants or undetermined members are in
play, a whole applicant with no area (when the policy has areas) or whose missing fund year decides whether the
policy pays (engine.runtime.interpret.out_of_period, shared by both paths; a claim outside the period, for a fund
year not paid or filed late is answered here: no clause applies), and,
always, a clause whose construct the generator does not translate yet (`Generated.interpreted` names them: a
reference followed into a linked document, an expression deeper than 60 levels, a form that settles without
writing how).
tests/test_runtime_generate.py checks both paths give the same results.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import TYPE_CHECKING, Callable, Mapping

from engine.core.amounts import CONTEXT, MAX_INTEGER_DIGITS, ROUNDINGS
from engine.core.dates import days_after, days_between, months_after, months_between, years_after, years_between
from engine.core.suggest import closest
from engine.core.values import Unknown
from engine.lang.emit import Unsupported, emit
from engine.lang.expressions import Expr
from engine.lang.tree import Node
from engine.model.awards.base import AwardForm
from engine.model.facts import Applicant
from engine.model.outcome import Outcome, Why
from engine.model.policy import Clause, Group, Policy
from engine.runtime.grants import Grants
from engine.runtime.interpret import out_of_period, totalled
from engine.runtime.plan import Choose, Decide, Plan, prepare
from engine.runtime.trace import (
    CapUsed,
    ClauseResult,
    LostToGroup,
    MeasureOnly,
    OnceGranted,
    OutOfClausePeriod,
    OutsideJurisdiction,
    RequiresFailed,
    Result,
)

if TYPE_CHECKING:
    from engine.runtime.interpret import _Run

# What makes the generated code hand a clause to the interpreter: a missing name, or arithmetic CONTEXT refuses.
FALLBACK = (KeyError, DivisionByZero, InvalidOperation, ZeroDivisionError, Overflow)
_MAX_DEPTH = 60  # deeper expression trees stay with the closures (Python's parser has its own nesting limit)
_ZERO = Decimal(0)
CLAIM_DATE = "claim_date"  # engine.model.compile.CLAIM_DATE (that module is not needed to evaluate)


class _Source:
    """The text being written and the constants it refers to (the namespace's `K0`, `K1`, …)."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.policy = policy = plan.policy
        self.facts = policy.all_facts()
        self.lines: list[str] = []
        self.constants: dict[str, object] = {}
        self._ids: dict[int, str] = {}
        self.item: tuple[str, frozenset[str]] | None = None  # (variable, fields) inside a list item's condition
        self.clause: Clause | None = None  # the clause being written, and its task
        self.task: Decide | None = None
        self._locals = 0

    # -- engine.lang.emit.Scope and engine.model.awards.base.Emitter ----------------------------------
    def read(self, name: str) -> str:
        if self.item is not None and name in self.item[1]:
            return f"{self.item[0]}[{name!r}]"
        if name == CLAIM_DATE:
            return "day"
        if name in self.facts:
            return f"V[{name!r}]"
        if name in self.policy.parameters:
            return f"P[{name!r}]"
        raise Unsupported(f"name {name}")

    def const(self, value: object) -> str:
        key = id(value)
        found = self._ids.get(key)
        if found is None:
            found = f"K{len(self.constants)}"
            self.constants[found] = value
            self._ids[key] = found
        return found

    def expr(self, expr: Expr) -> str:
        return self.node(expr.node)

    def item_expr(self, expr: Expr, item: str, fields: tuple[str, ...]) -> str:
        self.item = (item, frozenset(fields))
        try:
            return self.node(expr.node)
        finally:
            self.item = None

    def name(self, name: str) -> str:
        return self.read(name)

    def local(self, hint: str) -> str:
        self._locals += 1
        return f"_{hint}{self._locals}"

    def target(self, clause_id: str) -> str:
        return f"S.R[{clause_id!r}]"

    def counted(self) -> str:
        assert self.clause is not None
        return f"S.counted({self.const(self.clause)})"

    def fallback(self) -> str:
        assert self.task is not None
        return f"return S.fallback({self.const(self.task)})"

    def round(self, code: str) -> str:
        """Code rounding `code` by the policy's money rule (engine.core.amounts.MoneyRule.round)."""
        money = self.policy.money
        if money._decimal_step:
            return f"{code}.quantize({self.const(money.round_to)}, rounding={ROUNDINGS[money.rounding]!r}, context=C)"
        return f"{self.const(money)}.round({code})"

    # -- helpers ---------------------------------------------------------------------------------------
    def node(self, node: Node) -> str:
        depth = _depth(node)
        if depth > _MAX_DEPTH:
            raise Unsupported(f"an expression {depth} deep")
        return emit(node, self)

    def add(self, indent: int, *lines: str) -> None:
        self.lines.extend("    " * indent + line for line in lines)


def _depth(node: Node) -> int:
    """The depth of a tree, without recursion."""
    deepest, stack = 0, [(node, 1)]
    from engine.lang.tree import children

    while stack:
        current, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in children(current))
    return deepest


def _comment(text: str) -> str:
    """One line of comment text: what the author wrote can never end the comment and start code."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:100]


# --- one clause ---------------------------------------------------------------------------------------

def _clause(s: _Source, index: int, task: Decide) -> str:
    """Write the clause's function; its name."""
    clause = task.clause
    fn = f"clause_{index}"
    k_clause, k_task = s.const(clause), s.const(task)
    s.add(0, "", f"def {fn}(V, P, day, S):")
    s.add(1, f"# clause {_comment(clause.id)}: {_comment(clause.title or '')}")
    if clause.measure is not None:  # not applicable to anyone: the plan decides it up front
        s.add(1, f"return S.fallback({k_task})")
        return fn
    body_at = len(s.lines)
    try:
        _clause_body(s, clause, task, k_clause)
    except Unsupported as why:
        del s.lines[body_at:]
        s.add(1, f"# decided by the interpreter: {_comment(str(why))}", f"return S.fallback({k_task})")
        raise
    s.add(1, "except FALLBACK:")
    s.add(2, f"return S.fallback({k_task})")
    return fn


def _clause_body(s: _Source, clause: Clause, task: Decide, k: str) -> None:
    policy = s.policy
    if clause.refers_to is not None and clause.refers_clause is not None and clause.refers_to in policy.linked:
        raise Unsupported("a reference followed into a linked document")
    award = clause.award
    s.clause, s.task = clause, task
    if clause.refers_to is None:
        assert award is not None
        code = award.emit(s)
        if code is None:
            raise Unsupported(f"the {award.keyword} award as written")
        overrides = type(award).settle is not AwardForm.settle
        settle = award.emit_settle(s) if not overrides or type(award).emit_settle is not AwardForm.emit_settle \
            else None
        if settle is None:
            raise Unsupported(f"how the {award.keyword} award settles")
    else:
        code, settle = (), ()
    s.add(1, "try:")
    if task.dated:
        tests = []
        if clause.start is not None:
            tests.append(f"day < {s.const(clause.start)}")
        if clause.end is not None:
            tests.append(f"day > {s.const(clause.end)}")
        s.add(2, f"if {' or '.join(tests)}:",
              f"    return ClauseResult({k}, NA, None, OutOfClausePeriod({s.const(clause.start)}, "
              f"{s.const(clause.end)}, day))")
    if policy.areas:
        s.add(2, "if S.out is not None:", f"    return ClauseResult({k}, NA, None, S.out)")
    if clause.conditions:
        names = []
        for i, cond in enumerate(clause.conditions):
            s.add(2, f"c{i} = {s.expr(cond.expr)}  # {_comment(cond.label or cond.expr.text)}")
            names.append(f"c{i}")
        # every condition computed, as the interpreter computes (and would report) each; the first not met named
        s.add(2, f"if not ({' and '.join(names)}):")
        for i, name in enumerate(names[:-1]):
            s.add(3, f"if not {name}:", f"    return {s.const(task.failed[i])}")
        s.add(3, f"return {s.const(task.failed[-1])}")
    if task.deps:
        # A clause it builds on or requires: undetermined, or with a used-up cap a bonus may still raise, is the
        # interpreter's to weigh; any other outcome but eligible means this one is not paid.
        spent_cap = award is not None and award.builds_on_spent_cap()
        s.add(2, "lost = []")
        for dep in task.deps:
            weigh = spent_cap and dep not in clause.requires
            s.add(2, f"d = S.R[{dep!r}]  # {_comment(dep)}", "if d.outcome is not E:",
                  "    if d.outcome is U" + (" or isinstance(d.why, CapUsed)" if weigh else "") + ":",
                  f"        return S.fallback({s.const(task)})",
                  f"    lost.append({dep!r})")
        s.add(2, "if lost:", f"    return ClauseResult({k}, I, None, RequiresFailed(tuple(lost)))")
    if clause.refers_to is not None:
        reference = policy.references[clause.refers_to]
        referred = s.plan.share(ClauseResult(clause, Outcome.REFERRED, reference=reference))
        s.add(2, f"return {s.const(referred)}  # the same for everyone referred")
        return
    assert award is not None
    s.add(2, f"# award: {award.keyword}", "stop = None")
    s.add(2, *code)
    counted = clause.cap is not None or clause.period == "once"
    if counted:
        s.add(2, f"g = S.counted({k})",
              "if g.__class__ is not Decimal:",
              f"    return S.fallback({s.const(task)})  # what was granted is not known",
              f"g = {s.round('g')}")
        if clause.period == "once":
            s.add(2, "if g > 0:  # paid once: nothing more is due",
                  f"    key = S.grants().key({k})",
                  f"    return ClauseResult({k}, I, None, OnceGranted(g, key if isinstance(key, str) else None))")
    if clause.cap is not None:
        s.add(2, f"cap = {s.expr(clause.cap)}  # cap: {_comment(clause.cap.text)}",
              "if cap < 0:", f"    return S.fallback({s.const(task)})",
              f"cap = {s.round('cap')}",
              "if cap - g <= 0:  # the cap is used up",
              f"    return ClauseResult({k}, I, None, CapUsed(cap, g, ()), uncapped=None if stop is not None "
              "else S.before_cap(raw), cap_remaining=cap - g)")
    s.add(2, "if stop is not None:", f"    return ClauseResult({k}, I, None, stop)")
    if clause.offset is not None:
        s.add(2, f"offset = {s.expr(clause.offset.amount)}  # received elsewhere")
    s.add(2, f"if not (raw.is_finite() and raw.adjusted() < {MAX_INTEGER_DIGITS}):",
          f"    return S.fallback({s.const(task)})",
          f"amount = {s.round('raw')}",
          "if amount < 0:", f"    amount = {s.const(policy.money.round(_ZERO))}",
          "elif amount == 0:", "    amount = amount.copy_abs()",
          "uncapped = amount")
    remaining = "None"
    if clause.cap is not None:
        s.add(2, "remaining = cap - g", "if amount > remaining:", "    amount = remaining")
        remaining = "remaining"
    if settle:
        s.add(2, "# settled with another clause", *settle)
    if clause.offset is not None:
        received = s.round("max(offset, ZERO)")
        s.add(2, f"received = {received}", f"amount = {s.round('max(amount - received, ZERO)')}.copy_abs()")
    s.add(2, f"return ClauseResult({k}, E, amount, uncapped=uncapped, cap_remaining={remaining})")


# --- one exclusive group ------------------------------------------------------------------------------

def _group(s: _Source, index: int, group: Group) -> str:
    fn = f"group_{index}"
    k = s.const(group)
    members = tuple(m for m in group.members)
    s.add(0, "", f"def {fn}(V, P, day, S):")
    s.add(1, f"# group {_comment(group.id)}: pick {group.pick}, members {_comment(', '.join(members))}",
          "R = S.R",
          f"members = [R[m] for m in {members!r} if m in R]",
          "live = [r for r in members if r.outcome in LIVE]",
          "if not live:", "    return",
    )
    if group.earlier != "separate":  # separate: earlier grants count only against each member's own cap
        s.add(1, "if not S.nothing_earlier(members):  # paid earlier this fund year under a member: the "
              "interpreter weighs it", f"    return S.choose({k})")
    s.add(1, "if len(live) < 2:", "    return",
          "if any(r.outcome is not E for r in live):  # which pays waits on what is missing",
          f"    return S.choose({k})")
    if group.pick == "best":
        s.add(1, "winner = max(live, key=lambda r: r.amount or ZERO)  # the first of equals")
    else:
        s.add(1, "winner = live[0]")
    s.add(1, "for r in live:",
          "    if r is not winner:",
          f"        R[r.clause.id] = ClauseResult(r.clause, I, None, LostToGroup({group.id!r}, {group.pick!r}, "
          f"winner.clause.id, winner.amount, r.amount, {s.const(group.reading)}), r.conditions, r.steps, (), "
          "r.reference, r.uncapped, r.cap_remaining, r.hop)")
    return fn


# --- the whole policy ---------------------------------------------------------------------------------

class _State:
    """One applicant's evaluation as the generated functions see it: results so far, and the interpreter's
    run, made only when a clause or group is handed to it."""

    __slots__ = ("R", "out", "applicant", "day", "plan", "_grants", "_run")

    def __init__(self, plan: Plan, applicant: Applicant, day: dt.date, out: OutsideJurisdiction | None):
        self.plan, self.applicant, self.day, self.out = plan, applicant, day, out
        self.R: dict[str, ClauseResult] = {}
        self._grants: Grants | None = None
        self._run: _Run | None = None

    def grants(self) -> Grants:
        found = self._grants
        if found is None:
            # what Grants reads of the names in force (the fund year, the object counted per) are facts
            found = self._grants = Grants(self.plan.policy, self.applicant, self.applicant.values, self.day.year)
        return found

    def counted(self, clause: Clause) -> Decimal | Unknown:
        """What earlier grants count against the clause (engine.runtime.grants.Grants.counted), read straight from
        the summed form when there is no ledger."""
        a = self.applicant
        if a.granted is not None and not a.ledger:
            return a.granted.get(clause.id, _ZERO)
        return self.grants().counted(clause)

    def nothing_earlier(self, members: list[ClauseResult]) -> bool:
        """Whether nothing was paid under any of these clauses for the claim's fund year (and object): all known
        and 0 (Grants.in_year)."""
        a = self.applicant
        if a.granted is not None and not a.ledger:
            granted = a.granted
            return not any(granted.get(r.clause.id) for r in members)
        grants = self.grants()
        for r in members:
            earlier = grants.in_year(r.clause)
            if earlier.__class__ is not Decimal or earlier != 0:
                return False
        return True

    def run(self) -> _Run:
        found = self._run
        if found is None:
            from engine.runtime.interpret import _Run

            found = self._run = _Run(self.plan, self.applicant, self.day, False)
            found.results = self.R
        return found

    def fallback(self, task: Decide) -> ClauseResult:
        return self.run().decide(task)

    def choose(self, group: Group) -> None:
        self.run().choose(group)

    def before_cap(self, raw: Decimal) -> Decimal:
        return self.run()._before_cap(raw)


Driver = Callable[[Applicant, Mapping[str, object], Mapping[str, Decimal], dt.date, "_State"], object]


class Generated:
    """A policy's generated code: its text, the clauses always left to the interpreter (constructs not
    translated yet), and per set of recipient kinds a driver calling the clauses' functions in the plan's
    order (written on first use: a policy has a handful of kinds)."""

    def __init__(self, plan: Plan, source: str, names: Mapping[int, str], namespace: dict[str, object],
                 interpreted: tuple[str, ...]):
        self.plan, self.source, self.interpreted = plan, source, interpreted
        self._names, self._namespace = names, namespace
        self._drivers: dict[tuple[str, ...], tuple[str, Driver]] = {}

    def driver(self, kinds: tuple[str, ...]) -> tuple[str, Driver]:
        """The driver's text and function for applicants of these kinds."""
        found = self._drivers.get(kinds)
        if found is None:
            kind_plan = self.plan.for_kinds(kinds)
            ns = self._namespace
            fixed = f"FIXED_{len(self._drivers)}"
            ns[fixed] = kind_plan.fixed
            lines = [f"def driver(A, V, P, day, S):  # {_comment(', '.join(kinds))}", "    R = S.R",
                     f"    R.update({fixed})  # measures, and other kinds' clauses: not applicable"]
            for task in kind_plan.tasks:
                name = self._names[id(task)]
                if isinstance(task, Decide):
                    lines.append(f"    R[{task.clause.id!r}] = {name}(V, P, day, S)")
                else:
                    lines.append(f"    {name}(V, P, day, S)  # group {_comment(task.group.id)}")
            ids = self.plan.clause_ids
            lines += [f"    return ({''.join(f'R[{cid!r}], ' for cid in ids)})"]
            text = "\n".join(lines) + "\n"
            local: dict[str, object] = {}
            exec(compile(text, f"<generated: {self.plan.policy.id} {len(self._drivers)}>", "exec"), ns, local)
            found = (text, local["driver"])  # type: ignore[assignment]
            if len(self._drivers) < 256:
                self._drivers[kinds] = found  # type: ignore[assignment]
        return found  # type: ignore[return-value]

    def evaluate(self, applicant: Applicant, day: dt.date, source: str) -> Result | None:
        """The untraced result, or None when the interpreter should evaluate this applicant whole."""
        plan = self.plan
        policy = plan.policy
        end = policy.end
        if policy.fund_year is not None or day < policy.start or (end is not None and day > end):
            # The period and fund years (engine.runtime.interpret.out_of_period, shared): a claim outside the
            # period, for a year the policy does not pay, or filed late makes every clause not applicable; one
            # whose missing fund year decides whether the policy pays goes to the interpreter whole (every clause
            # that could pay or fail waits for it). A year after the claim date is refused here as there.
            year = applicant.values.get(policy.fund_year) if policy.fund_year is not None else None
            why, unknown_year = out_of_period(policy, year, day, applicant)
            if unknown_year is not None:
                return None
            if why is not None:
                return self._none_apply(applicant, day, source, why)
        out = None
        areas = policy.areas
        if areas:
            area = applicant.area
            if area is None:
                return None
            if area not in areas:
                out = OutsideJurisdiction(area, areas, closest(area, areas))
        found = self._drivers.get(applicant.recipients)
        driver = found[1] if found is not None else self.driver(applicant.recipients)[1]
        state = _State(plan, applicant, day, out)
        # a claim filed after the period (within its fund year's filing window) reads the period's last day
        params = plan.day(day if end is None or day <= end else end).values
        ordered: tuple[ClauseResult, ...] = driver(applicant, applicant.values, params, day,
                                                   state)  # type: ignore[assignment]
        return totalled(policy, applicant, day, source, ordered, False)


    def _none_apply(self, applicant: Applicant, day: dt.date, source: str, why: Why) -> Result:
        """No clause applies on this day for this fund year (as engine.runtime.interpret._Run.decide_all)."""
        policy = self.plan.policy
        results = {c.id: ClauseResult(c, Outcome.NOT_APPLICABLE, why=MeasureOnly(c.measure) if c.measure is not None
                                      else why) for c in policy.clauses}
        ordered = tuple(map(results.__getitem__, self.plan.clause_ids))
        return Result(policy, applicant, day, source, ordered, policy.money.round(_ZERO), True, False)


ELIGIBLE, UNDETERMINED = Outcome.ELIGIBLE, Outcome.UNDETERMINED


_NAMESPACE: dict[str, object] = {
    "C": CONTEXT, "Decimal": Decimal, "ZERO": _ZERO, "min": min, "max": max, "isinstance": isinstance,
    "bool": bool, "any": any, "len": len, "str": str, "int": int,
    "days_between": days_between, "months_between": months_between, "years_between": years_between,
    "days_after": days_after, "months_after": months_after, "years_after": years_after,
    "ClauseResult": ClauseResult, "OutOfClausePeriod": OutOfClausePeriod, "OnceGranted": OnceGranted,
    "CapUsed": CapUsed, "LostToGroup": LostToGroup, "RequiresFailed": RequiresFailed, "tuple": tuple,
    "U": Outcome.UNDETERMINED,
    "E": Outcome.ELIGIBLE, "I": Outcome.INELIGIBLE, "NA": Outcome.NOT_APPLICABLE, "REFERRED": Outcome.REFERRED,
    "LIVE": (Outcome.ELIGIBLE, Outcome.UNDETERMINED, Outcome.REFERRED), "FALLBACK": FALLBACK,
}


def write(plan: Plan) -> tuple[str, dict[str, object], dict[int, str], tuple[str, ...]]:
    """The plan as Python source: the text, its constants, each task's function name, and the clauses left
    to the interpreter."""
    policy = plan.policy
    s = _Source(plan)
    s.add(0, f"# Generated from the plan of {_comment(policy.id)} ({_comment(policy.document or '')}): "
          "untraced evaluation, one function per clause and per exclusive group.")
    names: dict[int, str] = {}
    interpreted: list[str] = []
    for i, task in enumerate(plan.tasks):
        if isinstance(task, Choose):
            names[id(task)] = _group(s, i, task.group)
            continue
        try:
            names[id(task)] = _clause(s, i, task)
        except Unsupported:
            names[id(task)] = f"clause_{i}"
            interpreted.append(task.clause.id)
    return "\n".join(s.lines) + "\n", s.constants, names, tuple(interpreted)


def generated(policy: Policy) -> Generated | None:
    """The policy's generated code, made on first use and kept with its plan; None if it cannot be made."""
    plan = prepare(policy)
    found = plan.__dict__.get("_generated", False)
    if found is False:
        found = _make(plan)
        plan.__dict__["_generated"] = found
    return found  # type: ignore[no-any-return]


def _make(plan: Plan) -> Generated | None:
    try:
        text, constants, names, interpreted = write(plan)
        code = compile(text, f"<generated: {plan.policy.id}>", "exec")
    except (Unsupported, RecursionError, SyntaxError, MemoryError, ValueError):
        return None
    namespace: dict[str, object] = {"__builtins__": {}}
    namespace.update(_NAMESPACE)
    namespace.update(constants)
    exec(code, namespace)
    return Generated(plan, text, names, namespace, interpreted)
