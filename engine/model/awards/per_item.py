"""An amount for each item of a list fact that meets a condition: 每孵化1家企业奖励1万元."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Mapping

from engine.core.amounts import CONTEXT
from engine.core.values import Missing, MissingField, Unknown, by_key
from engine.lang.expressions import Expr
from engine.model.awards.base import AwardForm, Compiler, Emitter, Run, Spec, SqlAward, SqlEmitter, Step, Upper, Words

# How one item counted, as the sheet and JSON name it.
COUNTED, NOT_COUNTED, UNDECIDED = "counted", "not counted", "unknown"
_STATUS_KEYS = {COUNTED: "item.counted", NOT_COUNTED: "item.not counted", UNDECIDED: "item.unknown"}


@dataclass(frozen=True)
class ItemsStep(Step):
    """Each item of a list fact, counted or not (and why), and the amount per item counted."""

    kind: ClassVar[str] = "items"
    list: str
    each: object
    items: tuple[tuple[int, str | None, str, tuple[str, ...]], ...]  # (index, name, status, missing keys)
    where: str | None = None
    count: int | None = None
    label: str | None = None
    value: Decimal | None = None

    def data(self) -> dict[str, object]:
        out = super().data()
        for key in ("where", "count", "label", "value"):
            if out[key] is None and not (key in ("where", "label") and self.count is not None):
                del out[key]
        return out

    def lines(self, w: Words) -> builtins.list[str]:  # `list` in this class is the field
        lines = [w.t("step.items", label=self.label or w.label(self.list), count=self.count if self.count is not None
                     else "?", each=w.money(self.each), value=w.money(self.value))]
        for i, name, status, missing in self.items:
            line = w.t("step.item", n=i + 1, name=name or "", status=w.t(_STATUS_KEYS[status]))
            if missing:
                line += "  " + w.t("cond.missing", names=", ".join(missing))
            lines.append(line)
        return lines


@dataclass(frozen=True)
class PerItemAward(AwardForm):
    """each × (the items of the list fact that meet `where`)."""

    keyword: ClassVar[str] = "per_item"
    example: ClassVar[Mapping[str, object]] = {"each": "1万元", "for_each": "firms", "where": "started",
                                             "item_label": "孵化企业"}
    required: ClassVar[frozenset[str]] = frozenset({"each", "for_each"})
    optional: ClassVar[frozenset[str]] = frozenset({"where", "item_label"})

    each: Expr
    items: str  # the list fact's name
    where: Expr | None
    item_label: str | None = None
    fields: tuple[str, ...] = ()  # the names of each item's fields, which `where` may read

    @classmethod
    def build(cls, spec: Spec, c: Compiler) -> PerItemAward | None:
        fact = c.list_fact("for_each")
        each = c.paid("each")
        if fact is None or each is None:
            return None
        where = c.condition("where", fact.items) if "where" in spec else None
        if "where" in spec and where is None:
            return None
        return cls(each, spec["for_each"], where, spec.get("item_label"), tuple(fact.items))

    def expressions(self) -> tuple[Expr, ...]:
        return (self.each,) + ((self.where,) if self.where is not None else ())

    def reads(self) -> frozenset[str]:
        return (super().reads() - set(self.fields)) | {self.items}

    def compute(self, run: Run) -> Decimal | Unknown:
        each = run.value(self.each)
        items = run.name(self.items)
        if isinstance(items, Unknown):
            if run.tracing:
                run.step(ItemsStep(self.items, each, ()))
            return items
        assert isinstance(items, tuple)
        fields = self.fields
        rows = []
        missing: set[Missing] = set()
        for i, item in enumerate(items):
            if self.where is None:
                ok: object = True
            else:
                unknowns = {f: MissingField.of(self.items, i, f) for f in fields if f not in item}
                ok = run.value_in(self.where, item, unknowns)
            if isinstance(ok, Unknown):
                missing |= ok.missing
                rows.append((i, item.get("name"), UNDECIDED, tuple(m.key for m in by_key(ok.missing))))
            else:
                rows.append((i, item.get("name"), COUNTED if ok else NOT_COUNTED, ()))
        count = sum(1 for r in rows if r[2] == COUNTED)
        where = self.where.text if self.where is not None else None
        if missing or isinstance(each, Unknown):
            if run.tracing:
                run.step(ItemsStep(self.items, each, tuple(rows), where, count, self.item_label))
            return Unknown(frozenset(missing | (each.missing if isinstance(each, Unknown) else set())))
        assert isinstance(each, Decimal)
        amount = CONTEXT.multiply(each, Decimal(count))
        if run.tracing:
            run.step(ItemsStep(self.items, each, tuple(rows), where, count, self.item_label, amount))
        return amount

    def emit(self, e: Emitter) -> tuple[str, ...]:
        lines = [f"each = {e.expr(self.each)}", f"items = {e.name(self.items)}"]
        if self.where is None:
            return (*lines, "raw = C.multiply(each, Decimal(len(items)))")
        item = e.local("item")
        # a field an item lacks raises KeyError (never the fact of the same name): the interpreter decides
        return (*lines, "count = 0", f"for {item} in items:",
                f"    if {e.item_expr(self.where, item, self.fields)}:", "        count += 1",
                "raw = C.multiply(each, Decimal(count))")

    def sql(self, e: SqlEmitter) -> SqlAward | None:
        items, each = e.column(self.items), e.expr(self.each)
        # the list not given: it waits for the list alone (compute returns its Unknown before reading items)
        needs = ((f"{items} IS NOT NULL", self.each),)
        whole = (self.items, f"CASE WHEN {items} IS NULL THEN {e.literal(self.items)} END", f"{items} IS NULL")
        if self.where is None:
            return SqlAward(f"({each}) * array_length({items})", needs=needs, missing=(whole,))
        # each item's `where`, Kleene's: counted where it holds; where it is unknown, the fields it misses
        # (items[i].field), every item's in key order
        where, _keys, waits = e.item_expr(self.where, "pi_item", "pi_index", self.items, self.fields)
        count = f"array_length(list_filter({items}, lambda pi_item: {where}))"
        test = self.where
        keys = e.each_item(items, lambda item, index: e.item_expr(test, item, index, self.items, self.fields)[1])
        listed = f"list_sort(flatten({keys}))"
        # (only where the list is given: DuckDB's lambdas cost per row of a vector, list or none)
        listed = f"CASE WHEN {items} IS NOT NULL THEN NULLIF(array_to_string({listed}, ';'), '') END"
        # an item misses a field: its tests alone, without the keys' text (the keys only where the clause waits)
        any_waits = f"COALESCE(array_length(list_filter({items}, lambda pi_item: {waits})) > 0, FALSE)"
        return SqlAward(f"({each}) * {count}", needs=needs,
                        missing=(whole, (self.items + "[", listed, any_waits)))

    def upper(self, up: Upper) -> Decimal | None:
        return None  # no bound on the list's length

    def describe(self, w: Words) -> tuple[str, ...]:
        item = self.item_label or w.label(self.items)
        items = [w.t("review.per_item", item=item, each=w.expr(self.each, "money"))]
        if self.where is not None:
            items.append(f"{w.t('review.per_item.where')}{w.t('review.colon')}"
                         + w.expr(self.where, item_fields=self.items))
        return tuple(items)

    def formula(self, w: Words) -> str:
        if self.where is not None:
            return w.t("award.formula.per_item.where", each=self.each.text, list=self.items, where=self.where.text)
        return w.t("award.formula.per_item", each=self.each.text, list=self.items)
