"""What every award form is: how it compiles, computes, bounds and describes itself, and what it reads.

A form is one class in one file of this package; `engine.model.awards.FORMS` finds it by its `keyword`.
The runtime, the sheet, lint, the review page and diff only ever talk to a form through this interface,
so a new form needs no edit anywhere else (tests/test_model_awards.py checks that each form has it all).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Callable, ClassVar, Mapping, Protocol

from engine.core.values import Missing, Unknown
from engine.lang.expressions import Expr
from engine.lang.tree import Lit, Name, Unary
from engine.model.declared import Fact
from engine.model.kinds import kind_named
from engine.model.outcome import Why
from engine.model.outcome import Words as Words  # re-exported: a form's file imports what it needs from here

# An award's block of a schema-valid policy file (`rate: 50%`, `base: costs`, …): its shape is the schema's,
# which the type checker cannot see, so its values are Any.
Spec = Mapping[str, Any]
# Where in the spec: a key of it, or a path into it for a form with nested entries (("tiers", "bands", 0, "above")).
Key = str | tuple[str | int, ...]


class Step:
    """One line of a calculation sheet; subclasses are frozen dataclasses whose fields are the numbers shown.

    `kind` names the step in JSON output; `data()` is what JSON shows of it; `lines()` what the sheet shows.
    """

    kind: ClassVar[str] = "step"

    def data(self) -> dict[str, object]:
        # Every subclass is a dataclass (Step itself is not, so the checker cannot know fields() applies).
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def lines(self, w: Words) -> list[str]:
        raise NotImplementedError


@dataclass(frozen=True)
class Stop:
    """An award that is decided ineligible by its own working (every period already paid, say)."""

    why: Why


class Decided(Protocol):
    """What a form may read of another clause's decided result (engine.runtime.trace.ClauseResult)."""

    @property
    def amount(self) -> Decimal | None: ...  # what it pays (eligible only)
    @property
    def uncapped(self) -> Decimal | None: ...  # its rounded amount before its cap
    @property
    def cap_remaining(self) -> Decimal | None: ...  # what its cap still allows


class Run(Protocol):
    """What a form may ask of the evaluation it is computed in."""

    tracing: bool

    def value(self, expr: Expr) -> object: ...  # Decimal, bool, … or Unknown
    def value_in(self, expr: Expr, extra: Mapping[str, object], unknowns: Mapping[str, Missing]) -> object: ...
    def name(self, name: str) -> object: ...  # a fact's value, or Unknown
    def step(self, step: Step) -> None: ...  # recorded only when tracing
    def target(self, clause_id: str) -> Decided: ...  # the decided result of another clause
    def counted(self) -> Decimal | Unknown: ...  # what earlier grants count against the clause being decided
    def list_fields(self, name: str) -> tuple[str, ...]: ...


class Emitter(Protocol):
    """What a form may ask while it writes its own Python for the untraced path (engine.runtime.generate).

    The form returns statements that set `raw` (the amount before rounding and cap, a Decimal) or `stop` (a
    `Why`: decided ineligible by its own working), reading values on the fast path: a missing name raises
    KeyError and the clause is then decided by the interpreter, as is anything CONTEXT refuses. Values the
    author wrote enter only as constants (`const`), never as code.
    """

    def expr(self, expr: Expr) -> str: ...  # code computing the expression
    def item_expr(self, expr: Expr, item: str, fields: tuple[str, ...]) -> str: ...  # with fields read from `item`
    def name(self, name: str) -> str: ...  # code reading a fact or parameter
    def const(self, value: object) -> str: ...  # the name of a constant holding `value` (a Why class, a text)
    def local(self, hint: str) -> str: ...  # a fresh local variable name
    def target(self, clause_id: str) -> str: ...  # code for another clause's decided result (a ClauseResult)
    def counted(self) -> str: ...  # code for what earlier grants count against this clause (Decimal or Unknown)
    def round(self, code: str) -> str: ...  # code rounding `code` by the policy's money rule
    def fallback(self) -> str: ...  # a statement handing the clause to the interpreter (something is unknown)


@dataclass(frozen=True)
class SqlAward:
    """A form's part of a round's SQL query (engine.runtime.sql): SQL expressions over the row's columns.

    A value the applicant did not give is NULL there, and an expression written by `SqlEmitter.expr` is NULL
    exactly where the engine's value is Unknown (Kleene's rules). `raw`: the amount before rounding and cap
    (exact DECIMAL), meaningful only where what it `needs` is known; `stop`: the reason code (VARCHAR) where the
    form decides the clause ineligible by its own working, else NULL (NULL too where that waits for a value
    not known, as `compute` waits); `fallback`: TRUE where this row is the row engine's to decide (a value the
    SQL cannot compute exactly; NULL counts as FALSE); `settle`: for a form with its own settle, the settled
    amount from the amount after the clause's own cap (SQL in, SQL out); `needs`: what the amount waits for,
    as `compute` reads it: (an SQL condition under which it reads the expression, the expression as given to
    `SqlEmitter.expr`) — the amount is Unknown, missing what those read miss, where one read is Unknown. None:
    every expression the form wrote, always read (compute's `unknown_of` over them all). `missing`: what else the
    amount waits for, which the form says itself (a list, its items' fields): (the text every key of a block
    starts with, SQL VARCHAR: the block's keys in key order, ';'-joined, NULL where it misses none of them, SQL
    BOOLEAN: whether it misses any, TRUE exactly where the keys are not NULL, written to cost less than them);
    engine.core.values.by_key then puts each block among the other keys where its first text sorts."""

    raw: str
    stop: str | None = None
    fallback: str | None = None
    settle: Callable[[str], str] | None = None
    needs: tuple[tuple[str, Expr], ...] | None = None
    missing: tuple[tuple[str, str, str], ...] = ()


class SqlEmitter(Protocol):
    """What a form may ask while it writes its SQL (engine.runtime.sql)."""

    def expr(self, expr: Expr) -> str: ...  # SQL computing the expression (exact DECIMAL, BOOLEAN, …; NULL: Unknown)
    # SQL: whether `expr` `op` (>=, >, …) the constant `value`, exactly (an expression that divides is compared
    # exactly here, never computed)
    def compare(self, expr: Expr, op: str, value: Decimal) -> str: ...
    # SQL computing `expr` for one item of a list, read as `item` (a lambda's parameter): its fields as the
    # item's, other names as the row's; SQL for what it misses there (VARCHAR[]: the keys, each field's as
    # engine.core.values.MissingField names it, given the item's index as SQL); and SQL: whether it misses any
    # (the keys' tests alone, cheaper than the keys)
    def item_expr(self, expr: Expr, item: str, index: str, list_name: str, fields: tuple[str, ...]
                  ) -> tuple[str, str, str]: ...
    # SQL: a list of `make(item, index)` for each item of the list `items` (`make` is given SQL for the item and for
    # its index from 0), in the items' order
    def each_item(self, items: str, make: Callable[[str, str], str]) -> str: ...
    def column(self, name: str) -> str: ...  # a list fact's column (NULL: not given)
    def literal(self, value: object) -> str: ...  # a constant as SQL (a Decimal exactly, text quoted)
    def reason(self, why: type[Why]) -> str: ...  # the SQL literal of a Why's reason code
    # another clause's amount before its cap (0 if none) and what its cap leaves (NULL: no cap), when eligible
    def target(self, clause_id: str) -> tuple[str, str]: ...
    def counted(self) -> str: ...  # what counts against this clause's cap, rounded (NULL: not said)


class Compiler(Protocol):
    """What a form may ask of the policy compiler while it is built (errors go to the compiler's list)."""

    def number(self, key: Key) -> Expr | None: ...  # the spec's `key` as a number expression, or None
    # the same, for an amount the award pays or caps: refused (error reported) in another currency than the policy's
    def paid(self, key: Key) -> Expr | None: ...
    def condition(self, key: str, item_fields: Mapping[str, Fact] | None = None) -> Expr | None: ...
    def error(self, key: Key, message: str, suggestion: str | None = None) -> None: ...
    # ("fact" | "parameter", its declared type: money, percent, number, integer, …) of a name, None if undeclared
    def declared(self, name: str) -> tuple[str, str] | None: ...
    def list_fact(self, key: str) -> Fact | None: ...  # the list fact named at spec[key], or None (error reported)
    def clause_ids(self) -> list[str]: ...


@dataclass(frozen=True)
class Sanity:
    """A number lint checks on every day of the policy: `rule` is lint's finding if the value is implausible."""

    rule: str  # "amount_not_positive" | "rate_range"
    field: str  # the spec key the expression was written under
    expr: Expr


Upper = Callable[[Expr], "Decimal | None"]  # the most an expression can be on a day, when that is known
Constant = Callable[[Expr], "Decimal | None"]  # an expression's value on a day, when parameters alone decide it


@dataclass(frozen=True)
class Finding:
    """Something lint should report about a form's own numbers on a day (bands out of order, a step of 0).

    `at` is where in the award's spec; `message` and `hint` are catalogue messages (engine.core.messages.msg).
    """

    at: tuple[str | int, ...]
    message: str
    hint: str


class AwardForm(ABC):
    """An award form. Subclasses are frozen dataclasses built only by `build` from a schema-valid spec."""

    keyword: ClassVar[str]  # the key that names the form in a policy file (rate, fixed, per_unit, …)
    required: ClassVar[frozenset[str]]  # keys the spec must have
    optional: ClassVar[frozenset[str]] = frozenset()
    # A small award of this form, over the facts of tests/test_model_awards.py (costs, area, months, months_paid,
    # firms[].started) and a clause `base`: the capability test compiles, evaluates and describes it.
    example: ClassVar[Mapping[str, object]]

    @classmethod
    @abstractmethod
    def build(cls, spec: Spec, c: Compiler) -> AwardForm | None:
        """The compiled form, or None when a problem was reported through `c`."""

    @abstractmethod
    def expressions(self) -> tuple[Expr, ...]:
        """Every expression the form reads."""

    def reads(self) -> frozenset[str]:
        """Every fact and parameter name the form reads."""
        return frozenset().union(*(e.names for e in self.expressions()))

    def depends_on(self) -> tuple[str, ...]:
        """Clauses whose outcome this form needs decided first."""
        return ()

    def stop_reads(self) -> frozenset[str]:
        """The names a decided stop's reason (its Why and words) can depend on: all the form reads, unless the
        form says fewer (a round words a stop once per distinct value of these: engine.rounds.sql_workbook)."""
        return self.reads()

    @abstractmethod
    def compute(self, run: Run) -> Decimal | Unknown | Stop:
        """The amount before rounding and cap, or what is missing, or a decided stop; steps go to `run`."""

    @abstractmethod
    def emit(self, e: Emitter) -> tuple[str, ...] | None:
        """Python statements computing what `compute` computes when every value is known (setting `raw`, or
        `stop` to a Why), for the generated untraced path; None when this award, as written, is left to the
        interpreter (say why in a comment; tests/test_runtime_generate.py counts such clauses)."""

    def sql(self, e: SqlEmitter) -> SqlAward | None:
        """The form's part of a round's SQL query (engine.runtime.sql), computing what `compute` does when every
        value is known; None when this award, as written, is left to the row engine (its rows go there).
        tests/test_award_forms.py checks that every form writes its own."""
        return None

    def emit_settle(self, e: Emitter) -> tuple[str, ...] | None:
        """Statements changing `amount` as `settle` does, after the cap (nothing when settle is not overridden);
        a form that overrides `settle` and not this is left to the interpreter."""
        return ()

    def settle(self, run: Run, amount: Decimal) -> Decimal:
        """The amount after this clause's own cap; a form that changes what another clause pays says so here."""
        return amount

    def builds_on_spent_cap(self) -> bool:
        """Whether the form still pays when a clause it builds on is ineligible only because that clause's own cap
        is used up (a bonus raising that cap: the raised cap may have room left). Otherwise it needs it eligible."""
        return False

    @abstractmethod
    def upper(self, up: Upper) -> Decimal | None:
        """The most the form can pay before its cap, when the bounds of what it reads are known (for lint)."""

    def sanity(self) -> tuple[Sanity, ...]:
        return ()

    def findings(self, value: Constant) -> tuple[Finding, ...]:
        """What lint should report that `sanity` cannot say, given the values parameters decide on a day."""
        return ()

    def meaning(self) -> tuple[object, ...]:
        """What decides the amount besides its expressions (which bound includes its value, a flag): for diff."""
        return ()

    def ceiling(self) -> bool:
        """Whether the form itself says its amount is a ceiling (tiers' own up_to:); any award may also say so
        with up_to: beside its keys (engine.model.policy.Clause.up_to)."""
        return False

    def can_fail(self) -> bool:
        """Whether the form alone can make an otherwise eligible clause ineligible (for test coverage)."""
        return False

    @abstractmethod
    def describe(self, w: Words) -> tuple[str, ...]:
        """How the amount is reached, in plain words, one item per line (review page)."""

    @abstractmethod
    def formula(self, w: Words) -> str:
        """The form as one line of its expressions as written (diff)."""




def _measure(declared_type: str) -> str | None:
    """What a fact's or parameter's declared type makes a number: the kind a form compares its own literals with."""
    kind = kind_named(declared_type)
    return kind.measure if kind is not None and kind.numeric else None


def kind_of(expr: Expr, c: Compiler) -> str | None:
    """"money", "percent" or "number" for a literal as written (10万元, 50%, 3) or a declared name; None when
    this simple look cannot tell (an expression; 0, which is every kind). Until the expression checker knows
    units, a form uses this to refuse a bound of another kind than what it bounds (10 for 10%)."""
    node = expr.node.operand if isinstance(expr.node, Unary) and expr.node.op == "-" else expr.node
    if isinstance(node, Name):
        declared = c.declared(node.id)
        return _measure(declared[1]) if declared else None
    if isinstance(node, Lit) and isinstance(node.value, Decimal) and not isinstance(node.value, bool):
        if node.value == 0:
            return None
        text = expr.text.strip()
        return "percent" if text.endswith("%") else "money" if text.endswith("元") else "number"
    return None
