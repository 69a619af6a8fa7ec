"""Compile a schema-valid policy document into a frozen Policy: expressions parsed, names resolved."""

from __future__ import annotations

import datetime as dt
import keyword
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any, Callable, ClassVar, Iterator, Mapping, Sequence, cast

from engine.core.amounts import CURRENCIES, AmountSyntaxError, MoneyRule, parse_amount, plain, written_currency
from engine.core.errors import CompileError, PolicyError, Problem, ProblemList
from engine.core.messages import msg
from engine.core.suggest import did_you_mean, one_of
from engine.lang.analysis import names_breadth_first
from engine.lang.expressions import BOOL, DATE, FUNCTIONS, NUM, Expr, ExpressionError, NameInfo, parse
from engine.lang.tree import substitute
from engine.lang.units import Dim
from engine.lang.units import money as money_dim
from engine.model.awards import FORMS
from engine.model.awards.base import AwardForm, Key
from engine.model.kinds import KINDS
from engine.model.order import decision_order, loop_through
from engine.model.policy import (
    Alternative,
    Clause,
    Condition,
    Currency,
    DatedValue,
    Derived,
    Fact,
    Group,
    Offset,
    Parameter,
    Policy,
    Reading,
    Recipient,
    Reference,
    Where,
    Window,
)
from engine.model.pools import compile_pools
from engine.syntax.loader import Loaded, Path_
from engine.syntax.readings import alternative_document, changed_sections
from engine.syntax.schema import Document, VariantValidator

# Names an expression reads as something else (true, yes, min, …): a fact or parameter so named could
# never be read, so it is refused where it is declared.
# claim_date: the day the claim is evaluated for (the facts' date:, --on, or today), readable by every expression.
CLAIM_DATE = "claim_date"
RESERVED_NAMES = {"true", "false", "yes", "no", "on", "off", "null", "none", CLAIM_DATE} | set(FUNCTIONS)


def compile_policy(loaded: Loaded) -> Policy:
    """The frozen Policy of a schema-valid document (merged already, if it extends another). Reads no file."""
    return _Compiler(loaded).run()


def reading_problems(loaded: Loaded) -> list[Problem]:
    """What would be wrong with the policy read each other way: every alternative with a `change:` applied,
    checked against the schema and compiled. Each problem is located in the change it comes from (a misspelt
    fact inside an alternative is found where it is written) and names the reading and the alternative."""
    data = loaded.data
    readings = data.get("readings") if isinstance(data, dict) else None
    out: list[Problem] = []
    schema = VariantValidator(loaded)  # each alternative's changed sections checked, the rest once
    for rid, reading in (readings or {}).items():
        alternatives = reading.get("alternatives") if isinstance(reading, dict) else None
        for number, alternative in enumerate(alternatives or (), 1):
            if not isinstance(alternative, dict) or not alternative.get("change"):
                continue
            try:
                other = alternative_document(loaded, rid, number)
                schema.validate(other, changed_sections(alternative["change"]))
                compile_policy(other)
            except PolicyError as error:
                out += [replace(p, message=msg("reading.alternative_problem", id=rid, number=number,
                                               message=p.message)) for p in error.problems]
    return out


def _plain_value(value: object) -> str:
    """A value as written in the file, for a hint that repeats it (10万元, a name, 100000)."""
    return plain(value) if isinstance(value, Decimal) else str(value)


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _day(text: str) -> dt.date:
    """A date the schema requires (so never empty)."""
    return dt.date.fromisoformat(text)


class _Compiler:
    def __init__(self, loaded: Loaded):
        self.doc = cast(Document, loaded.data)  # a schema-valid policy document is a mapping
        self.source = loaded.source
        if loaded.source.file not in loaded.source.texts:
            loaded.source.texts[loaded.source.file] = loaded.text
        self.problems = ProblemList()
        self.group_ids: set[str] = set()
        self.exclusive_member_of: dict[str, str] = {}  # clause id -> the pick best/first group it is in
        self.derived: dict[str, Derived] = {}  # filled in declaration order; expressions read those before them

    # -- helpers -------------------------------------------------------------------------------
    def where(self, path: Sequence[str | int]) -> Where:
        file, line, col = self.source.locate(path)
        return Where(file, line, col)

    def error(self, message: str, path: Sequence[str | int], clause: str | None = None, suggestion: str | None = None,
              prefer_key: bool = False) -> None:
        self.problems.add(self.source.problem(message, path, clause=clause, suggestion=suggestion,
                                              prefer_key=prefer_key))

    def expr(self, value: object, path: Path_, scope: Mapping[str, NameInfo], expect: str,
             clause: str | None = None) -> Expr | None:
        """`value` as written (text, or a number the loader read as a Decimal), parsed and checked."""
        file, line, col = self.source.locate(path)
        # A number is read as parse() reads one: its plain digits.
        text = value if isinstance(value, str) else plain(value) if isinstance(value, Decimal) else str(value)
        try:
            return self.inline(replace(parse(text, scope, expect), origin=(file, line, col)))
        except ExpressionError as exc:
            shown = value if isinstance(value, str) else str(value)
            if line is not None and col is not None and exc.offset is not None:
                # The mark is in whichever file the expression came from (a parent's, when inherited).
                text_line = self.source.line_text(file, line)
                quoted = text_line[col - 1:col] in ("'", '"')
                start = col + (1 if quoted else 0)
                # Point inside the expression only when it stands on that line exactly as parsed; a folded
                # (multi-line) or escaped value keeps the position where the value starts.
                if "\n" not in shown and text_line[start - 1:].startswith(shown.strip()):
                    col = start + exc.offset
            self.problems.add(Problem(msg("compile.in_expression", expr=shown, message=exc.message),
                                      file=file, line=line,
                                      column=col, path=tuple(path), clause=clause, suggestion=exc.suggestion,
                                      inherited_by=self.source.file if file != self.source.file else None))
            return None

    def amount(self, value: object, path: Path_) -> Decimal | None:
        try:
            return parse_amount(value)
        except AmountSyntaxError as exc:
            self.error(exc.message, path)
            return None

    def inline(self, expr: Expr) -> Expr:
        """An expression reading derived values, with each replaced by its formula: evaluated as one, while its
        text keeps the names the author wrote (`derived` says which were inlined, for the sheet)."""
        derived = self.derived
        used = [n for n in expr.names if n in derived]
        if not used:
            return expr
        nodes = {n: derived[n].expr.node for n in used}
        source = expr.source
        for n in used:  # the reference evaluator reads the text: the same substitution, as text
            source = re.sub(rf"\b{n}\b", f"({derived[n].expr.source})", source)
        node = substitute(expr.node, nodes)
        names = (expr.names - set(used)) | frozenset().union(*(derived[n].expr.names for n in used))
        return replace(expr, node=node, names=names, source=source, derived=tuple(sorted(used)),
                       ordered_names=tuple(x for x in names_breadth_first(node) if x in names))

    # -- stages --------------------------------------------------------------------------------
    def run(self) -> Policy:
        """Every stage in STAGES, in order, then the Policy: every problem of every stage is reported together."""
        for stage in self.STAGES:
            stage(self)
        self.problems.raise_if_any(CompileError)
        return self.assemble()

    def period(self) -> None:
        """in_force: when the policy applies."""
        doc = self.doc
        self.start, self.end = _day(doc["in_force"]["from"]), _date(doc["in_force"].get("until"))
        if self.end and self.end < self.start:
            self.error(msg("compile.in_force_order", end=self.end, start=self.start), ("in_force", "until"))

    def money_rule(self) -> None:
        """money: the currency and how amounts are rounded."""
        money = self.doc["money"]
        rule = MoneyRule(money["currency"], Decimal(str(money["round_to"])), money["rounding"])
        if rule.round_to <= 0:
            self.error(msg("compile.round_to_zero"), ("money", "round_to"),
                       suggestion=msg("compile.round_to_zero.hint"))
            rule = MoneyRule(rule.currency, Decimal("0.01"), rule.rounding)
        self.rule = rule
        self.currency = rule.currency

    def sections(self) -> None:
        """references, readings, recipients, and the readings the period and the areas name."""
        doc = self.doc
        self.references = {k: Reference(k, v["title"], v.get("role", "rules"), v.get("note"))
                           for k, v in (doc.get("references") or {}).items()}
        self.readings = {k: Reading(k, v["question"], v["choice"], tuple(map(_alternative, v.get("alternatives", ()))),
                                    v.get("why"))
                         for k, v in (doc.get("readings") or {}).items()}
        self.recipients = {k: Recipient(k, v["label"], v.get("description")) for k, v in doc["recipients"].items()}
        self.period_reading = doc["in_force"].get("reading")
        if self.period_reading:
            self.reading_ids(self.period_reading, ("in_force", "reading"), None)
        self.areas_reading = (doc.get("jurisdiction") or {}).get("reading")
        if self.areas_reading:
            self.reading_ids(self.areas_reading, ("jurisdiction", "reading"), None)

    def names(self) -> None:
        """facts and parameters: declared, each name once, none a reserved word; then the names expressions
        may read (the scope), derived names, and the part/whole bounds between facts."""
        doc = self.doc
        for section in ("facts", "parameters"):
            for name in doc.get(section) or {}:
                if keyword.iskeyword(name) or name in RESERVED_NAMES:
                    self.error(msg("compile.reserved_name", name=name), (section, name), prefer_key=True,
                               suggestion=msg("compile.reserved_name.hint", name=name))
        facts = {name: self.fact(name, spec, ("facts", name)) for name, spec in (doc.get("facts") or {}).items()}
        parameters: dict[str, Parameter] = {}
        for name, spec in (doc.get("parameters") or {}).items():
            if name in facts:
                self.error(msg("compile.fact_and_parameter", name=name), ("parameters", name),
                           prefer_key=True, suggestion=msg("compile.fact_and_parameter.hint"))
                continue
            parameters[name] = self.parameter(name, spec, self.start, self.end)
        self.currency_rates = self.currencies(doc, facts, parameters)
        scope = {n: NameInfo(f.kind.value, f.choices, self.fact_dim(f)) for n, f in facts.items()}
        scope.update({n: NameInfo(NUM, (), self.parameter_dim(p)) for n, p in parameters.items()})
        scope[CLAIM_DATE] = NameInfo(DATE)
        self.facts, self.parameters, self.scope = facts, parameters, scope
        for name, spec in (doc.get("derived") or {}).items():
            self.derive(name, spec, facts, parameters)
        self.check_at_most(facts)

    def window(self, spec: Document | None, path: Path_) -> Window | None:
        """counted_over: 支持时间, fixed days or the fund year (the schema allows one or the other)."""
        if not spec:
            return None
        start, end = _date(spec.get("from")), _date(spec.get("until"))
        if start is not None and end is not None and start > end:
            self.error(msg("compile.window_order", start=start.isoformat(), end=end.isoformat()),
                       path + ("counted_over", "from"))
        return Window(start=start, end=end, fund_year=bool(spec.get("fund_year")), text=spec.get("text"),
                      dates=tuple(spec.get("dates") or ()))

    def check_windows(self, facts: Mapping[str, Fact]) -> None:
        """Each date fact a window names is a declared date; a window over the fund year needs `fund_year:`."""
        for name, fact in facts.items():
            if fact.window is None:
                continue
            path: Path_ = ("facts", name, "counted_over")
            for i, date_fact in enumerate(fact.window.dates):
                self.typed_fact(date_fact, path + ("dates", i), None, "date")
            if fact.window.fund_year and self.fund_year_fact is None:
                self.error(msg("compile.window_fund_year", name=name), path + ("fund_year",),
                           suggestion=msg("compile.window_fund_year.hint"))

    def fund_year(self) -> None:
        """fund_year: the integer fact that names the year a claim is paid from, and its reading."""
        self.fund_year_spec = self.doc.get("fund_year") or {}
        self.fund_year_fact, self.fund_year_reading = None, None
        if self.fund_year_spec:
            self.fund_year_fact = self.fund_year_spec["fact"]
            self.typed_fact(self.fund_year_fact, ("fund_year", "fact"), None, "integer")
            if self.fund_year_spec.get("reading"):
                self.fund_year_reading = self.reading_ids(self.fund_year_spec["reading"], ("fund_year", "reading"),
                                                          None)[0]
        self.check_windows(self.facts)

    def clauses(self) -> None:
        """clauses: each id once, the shared conditions, each clause, and no loop in what they require."""
        self.clause_ids = [c["id"] for c in self.doc["clauses"]]
        seen: dict[str, int] = {}
        for i, cid in enumerate(self.clause_ids):
            if cid in seen:
                self.error(msg("compile.duplicate_clause", id=cid, first=seen[cid]),
                           ("clauses", i, "id"), clause=cid, suggestion=msg("compile.duplicate_clause.hint"))
            seen.setdefault(cid, i)
        self.shared = self.shared_conditions(self.doc)
        self.compiled = tuple(self.clause(i, spec) for i, spec in enumerate(self.doc["clauses"]))
        self.looped = self.check_dependencies(self.compiled)

    def groups(self) -> None:
        """groups: each group, and no loop through an exclusive one (unless the clauses loop already)."""
        self.compiled_groups = tuple(self.group(i, spec) for i, spec in enumerate(self.doc.get("groups") or ()))
        if not self.looped:
            self.check_group_loops(self.compiled, self.compiled_groups)

    def pools(self) -> None:
        """pools: the budgets a round shares out."""
        self.compiled_pools = compile_pools(self.doc.get("pools"), self.source, self.problems, self.compiled,
                                            self.facts, self.rule.round_to, tuple(self.readings))

    # The stages of compiling a document, in order: each reads what those before it set on the compiler.
    STAGES: ClassVar[tuple[Callable[[_Compiler], None], ...]] = (
        period, money_rule, sections, names, fund_year, clauses, groups, pools)

    def assemble(self) -> Policy:
        """The Policy the stages made (called once none of them found a problem)."""
        doc, money, fund_year_spec = self.doc, self.doc["money"], self.fund_year_spec
        return Policy(
            id=doc["id"], document=doc["document"], title=doc["title"], issuer=doc.get("issuer"),
            language=doc.get("language", "zh"), start=self.start, end=self.end,
            areas=tuple((doc.get("jurisdiction") or {}).get("areas", ())), money=self.rule,
            recipients=self.recipients, facts=self.facts, parameters=self.parameters, clauses=self.compiled,
            groups=self.compiled_groups, references=self.references, readings=self.readings, file=self.source.file,
            signed=_date(doc.get("signed")), period_assumed=bool(doc["in_force"].get("assumed", False)),
            period_reading=self.period_reading, areas_reading=self.areas_reading, pools=self.compiled_pools,
            fund_year=self.fund_year_fact, fund_year_reading=self.fund_year_reading,
            fund_year_in_force=fund_year_spec.get("in_force"),
            filing_months=(int(fund_year_spec["filing_months"]) if fund_year_spec.get("filing_months") is not None
                           else None),
            articles=dict(doc.get("articles") or {}),
            money_source=(("text", money["text"]) if money.get("text")
                          else ("practice", money["practice"]) if money.get("practice") else None),
            currencies=self.currency_rates, derived=self.derived,
            conditions=tuple(c for c, _ids in self.shared),
        )

    def check_at_most(self, facts: Mapping[str, Fact]) -> None:
        """`at_most: OTHER` names another declared fact of the same type and currency: a part and its whole."""
        for name, fact in facts.items():
            other = fact.at_most
            if other is None:
                continue
            path: Path_ = ("facts", name, "at_most")
            if other not in facts or other == name:
                self.error(msg("compile.at_most_unknown", name=name, other=other), path,
                           suggestion=did_you_mean(other, [n for n in facts if n != name])
                           or msg("compile.at_most.hint"))
            elif facts[other].kind is not fact.kind or facts[other].currency != fact.currency \
                    or not fact.kind.numeric:
                self.error(msg("compile.at_most_type", name=name, type=fact.type, other=other,
                               other_type=facts[other].type), path, suggestion=msg("compile.at_most.hint"))

    def paid_in_own_currency(self, expr: Expr | None, path: Path_, clause: str) -> None:
        """An amount an award pays (or caps) in another currency than the policy's is refused: it would be paid
        as if it were in the policy's own (100万美元 × 1% paid as 1万元)."""
        dim = expr.dim if expr is not None else None
        if expr is None or dim is None or dim.kind != "money" or dim.detail == self.currency:
            return
        self.error(msg("compile.paid_currency", key=path[-1], expr=expr.text, kind=dim.words(),
                       own=money_dim(self.currency).words()), path, clause=clause,
                   suggestion=msg("compile.paid_currency.hint", own=money_dim(self.currency).words()))

    def fact_dim(self, fact: Fact) -> Dim | None:
        """What a fact's value measures (engine.lang.units)."""
        return fact.kind.dim(fact, self.currency)

    def parameter_dim(self, param: Parameter) -> Dim:
        dim = param.kind.dim(param, self.currency)
        assert dim is not None, "a parameter is a number"
        return dim

    def currencies(self, doc: Document, facts: Mapping[str, Fact], parameters: Mapping[str, Parameter]
                   ) -> dict[str, Currency]:
        """The currencies the policy declares besides its own, each with the rate that converts it; every money
        fact or parameter in another currency must be one of them."""
        out: dict[str, Currency] = {}
        own = CURRENCIES[self.currency]
        for code, spec in (doc.get("currencies") or {}).items():
            path: Path_ = ("currencies", code)
            rate = spec.get("rate")
            if rate is not None:
                unit = (facts[rate].unit if rate in facts else parameters[rate].unit if rate in parameters else None)
                want = f"{own}/{CURRENCIES[code]}"
                if rate not in facts and rate not in parameters:
                    self.error(msg("compile.rate_undeclared", name=rate, code=code), path + ("rate",),
                               suggestion=did_you_mean(rate, list(facts) + list(parameters))
                               or msg("compile.rate.hint", unit=want))
                elif unit != want:
                    self.error(msg("compile.rate_unit", name=rate, unit=unit or "—", want=want), path + ("rate",),
                               suggestion=msg("compile.rate.hint", unit=want))
            out[code] = Currency(code, CURRENCIES[code], rate, spec.get("text"))
        used = [("facts", n, f.currency) for n, f in facts.items()] + \
            [("parameters", n, p.currency) for n, p in parameters.items()]
        for section, name, code in used:
            if code and code != self.currency and code not in out:
                hint = msg("compile.currency_undeclared.hint", code=code, unit=f"{own}/{CURRENCIES[code]}")
                self.error(msg("compile.currency_undeclared", name=name, code=code, word=CURRENCIES[code]),
                           (section, name), prefer_key=True, suggestion=hint)
        return out

    def shared_conditions(self, doc: Document) -> list[tuple[Condition, tuple[str, ...] | None]]:
        """The policy's conditions: every paying clause (or those listed under clauses:) requires them."""
        out: list[tuple[Condition, tuple[str, ...] | None]] = []
        for i, spec in enumerate(doc.get("conditions") or ()):
            path: Path_ = ("conditions", i)
            expr = self.expr(spec["if"], path + ("if",), self.scope, BOOL)
            ids = tuple(spec["clauses"]) if "clauses" in spec else None
            for j, cid in enumerate(ids or ()):
                if cid not in self.clause_ids:
                    self.error(msg("compile.unknown_required", id=cid), path + ("clauses", j),
                               suggestion=did_you_mean(cid, self.clause_ids))
            reading = self.reading_ids(spec["reading"], path + ("reading",), None)[0] if spec.get("reading") else None
            if expr is not None:
                out.append((Condition(expr, spec.get("label"), reading, self.where(path + ("if",)), True,
                                      spec.get("text")), ids))
        return out

    def derive(self, name: str, spec: Document, facts: Mapping[str, Fact], parameters: Mapping[str, Parameter]
               ) -> None:
        """A derived value: its formula checked against what is declared before it, then known by name."""
        path: Path_ = ("derived", name)
        if name in facts or name in parameters or keyword.iskeyword(name) or name in RESERVED_NAMES:
            self.error(msg("compile.derived_name", name=name), path, prefer_key=True,
                       suggestion=msg("compile.derived_name.hint"))
            return
        expr = self.expr(spec["formula"], path + ("formula",), self.scope, NUM)
        if expr is None:
            return
        reading = spec.get("reading")
        if reading:
            self.reading_ids(reading, path + ("reading",), None)
        self.derived[name] = Derived(name, spec["label"], expr, spec.get("text"), reading, self.where(path))
        self.scope = {**self.scope, name: NameInfo(NUM, (), expr.dim)}

    def typed_fact(self, name: str, path: Path_, cid: str | None, kind: str) -> None:
        """`name` must be a declared fact of type `kind` (the fund year's integer, an object's text name)."""
        fact = self.facts.get(name)
        if fact is None:
            self.error(msg("compile.fact_undeclared", name=name), path, clause=cid,
                       suggestion=did_you_mean(name, [n for n, f in self.facts.items() if f.type == kind])
                       or msg("compile.fact_of_type.hint", type=kind))
        elif fact.type != kind:
            self.error(msg("compile.fact_of_type", name=name, type=fact.type, want=kind), path, clause=cid,
                       suggestion=msg("compile.fact_of_type.hint", type=kind))

    def fact(self, name: str, spec: Document, path: Path_) -> Fact:
        items: dict[str, Fact] = {}
        kind = KINDS[spec["type"]]
        if kind.takes_items:
            if not spec.get("items"):
                self.error(msg("compile.list_items", name=name), path, suggestion=msg("compile.list_items.hint"))
            for field_name, field_spec in (spec.get("items") or {}).items():
                items[field_name] = self.fact(field_name, field_spec, path + ("items", field_name))
        elif "items" in spec:
            self.error(msg("compile.items_not_list", name=name, type=spec["type"]), path + ("items",),
                       prefer_key=True)
        if spec.get("choices") and not kind.takes_choices:
            self.error(msg("compile.choices_not_text", name=name, type=spec["type"]), path + ("choices",),
                       prefer_key=True)
        bounds: dict[str, Decimal | None] = {}
        for key in ("min", "max"):
            if key in spec:
                bounds[key] = self.amount(spec[key], path + (key,))
        for i, key in enumerate(spec.get("unique", ())):
            if not kind.takes_items or key not in (spec.get("items") or {}):
                self.error(msg("compile.unique_field", name=name, field=key), path + ("unique", i),
                           suggestion=did_you_mean(key, spec.get("items") or {}) or msg("compile.unique_field.hint"))
        low, high = bounds.get("min"), bounds.get("max")
        if low is not None and high is not None and low > high:
            self.error(msg("compile.min_max", min=low, max=high), path + ("min",))
        fact = Fact(name=name, type=spec["type"], label=spec["label"], unit=spec.get("unit"),
                    minimum=bounds.get("min"), maximum=bounds.get("max"),
                    choices=tuple(spec.get("choices", ())), description=spec.get("description"),
                    items=items, unique=tuple(spec.get("unique", ())), currency=spec.get("currency"),
                    at_most=spec.get("at_most"), window=self.window(spec.get("counted_over"), path),
                    where=self.where(path))
        for message, key in kind.declaration_problems(fact):
            self.error(message, path + (key,))
        return fact

    def parameter(self, name: str, spec: Document, start: dt.date, end: dt.date | None) -> Parameter:
        path: Path_ = ("parameters", name)
        if ("value" in spec) == ("values" in spec):
            self.error(msg("compile.value_or_values", name=name), path, prefer_key=True,
                       suggestion=msg("compile.value_or_values.hint"))
            return Parameter(name, spec["label"], "number", (), spec.get("unit"), spec.get("text"), self.where(path))
        raw_values = [{"from": start.isoformat(), "value": spec["value"]}] if "value" in spec else spec["values"]
        values: list[DatedValue] = []
        kinds: set[str] = set()
        currencies: set[str] = set()
        for i, item in enumerate(raw_values):
            vpath = path + ("values", i) if "values" in spec else path + ("value",)
            amount = self.amount(item["value"], vpath + (("value",) if "values" in spec else ()))
            if amount is None:
                continue
            text = str(item["value"])
            written = written_currency(text)
            if written is not None:
                currencies.add(written)
            kinds.add("percent" if text.endswith("%") else "money" if written else "number")
            values.append(DatedValue(_day(item["from"]), amount, item.get("source"), _date(item.get("until"))))
        self.check_timeline(name, values, path, start, end)
        declared = spec.get("type")
        kind = declared or (kinds.pop() if len(kinds) == 1 else "number")
        if kind == "percent":
            for v in values:
                if v.value < 0:
                    self.error(msg("compile.negative_rate", value=v.value, name=name), path)
        if len(currencies) > 1:
            self.error(msg("compile.parameter_currencies", name=name, codes=", ".join(sorted(currencies))), path,
                       prefer_key=True)
        currency = next(iter(currencies), None)
        return Parameter(name, spec["label"], kind, tuple(values), spec.get("unit"), spec.get("text"), self.where(path),
                         currency if currency != self.currency else None)

    def check_timeline(self, name: str, values: list[DatedValue], path: Path_, start: dt.date,
                       end: dt.date | None) -> None:
        """Dated values must be in order, without gaps or overlaps, and cover the policy from its start."""
        if not values:
            return
        if values[0].start > start:
            self.error(msg("compile.values.late_start", name=name, start=start, first=values[0].start),
                       path + ("values", 0, "from"), suggestion=msg("compile.values.late_start.hint", start=start))
        for i, (a, b) in enumerate(zip(values, values[1:], strict=False), start=1):
            vpath = path + ("values", i, "from")
            if b.start <= a.start:
                self.error(msg("compile.values.order", name=name, later=b.start, earlier=a.start), vpath,
                           suggestion=msg("compile.values.order.hint"))
            elif a.end is not None and b.start <= a.end:
                self.error(msg("compile.values.overlap", name=name, start=b.start, end=a.end),
                           vpath, suggestion=msg("compile.values.overlap.hint", day=b.start - dt.timedelta(days=1)))
            elif a.end is not None and b.start > a.end + dt.timedelta(days=1):
                self.error(msg("compile.values.gap", name=name, start=a.end + dt.timedelta(days=1),
                               end=b.start - dt.timedelta(days=1)), vpath,
                           suggestion=msg("compile.values.gap.hint", day=a.end + dt.timedelta(days=1)))
        for i, v in enumerate(values):
            if v.end is not None and v.end < v.start:
                self.error(msg("compile.values.ends_before", name=name, end=v.end, start=v.start),
                           path + ("values", i, "until"))
        last = values[-1]
        if last.end is not None and (end is None or last.end < end):
            runs = msg("compile.values.runs_until", end=end) if end else msg("compile.values.runs_open")
            self.error(msg("compile.values.early_end", name=name, last=last.end, runs=runs),
                       path + ("values", len(values) - 1, "until"), suggestion=msg("compile.values.early_end.hint"))

    def reading_ids(self, value: str | Sequence[str] | None, path: Path_, cid: str | None) -> tuple[str, ...]:
        ids = (value,) if isinstance(value, str) else tuple(value or ())
        for rid in ids:
            if rid not in self.readings:
                self.error(msg("compile.unknown_reading", id=rid), path, clause=cid,
                           suggestion=did_you_mean(rid, self.readings) or msg("compile.unknown_reading.hint"))
        return ids

    def clause(self, index: int, spec: Document) -> Clause:
        cid = spec["id"]
        path: Path_ = ("clauses", index)
        kinds = [k for k in ("award", "refers_to", "measure") if k in spec]
        if len(kinds) != 1:
            self.error(msg("compile.clause_kind.has", id=cid, kinds=", ".join(kinds)) if kinds
                       else msg("compile.clause_kind", id=cid), path, clause=cid,
                       suggestion=msg("compile.clause_kind.hint"))
        recipients = spec.get("recipient", ())
        recipients = (recipients,) if isinstance(recipients, str) else tuple(recipients)
        for r in recipients:
            if r not in self.recipients:
                self.error(msg("compile.unknown_recipient", name=r), path + ("recipient",), clause=cid,
                           suggestion=did_you_mean(r, self.recipients)
                           or msg("compile.declared", names=one_of(self.recipients)))
        if "measure" not in spec and not recipients:
            self.error(msg("compile.no_recipient", id=cid), path, clause=cid, prefer_key=True,
                       suggestion=msg("compile.no_recipient.hint", names=one_of(self.recipients)))
        conditions: list[Condition] = []
        for i, cond in enumerate(spec.get("when") or ()):
            cpath = path + ("when", i)
            text = cond if isinstance(cond, (str, Decimal)) else cond["if"]
            epath = cpath if isinstance(cond, (str, Decimal)) else cpath + ("if",)
            compiled = self.expr(text, epath, self.scope, BOOL, cid)
            reading = None
            if isinstance(cond, dict) and cond.get("reading"):
                reading = self.reading_ids(cond["reading"], cpath + ("reading",), cid)[0]
            if compiled:
                conditions.append(Condition(compiled, cond.get("label") if isinstance(cond, dict) else None,
                                            reading, self.where(epath)))
        if "measure" not in spec:
            conditions[:0] = [c for c, ids in self.shared if ids is None or cid in ids]
        award = self.award(spec["award"], path + ("award",), cid) if "award" in spec else None
        cap = self.expr(spec["cap"], path + ("cap",), self.scope, NUM, cid) if "cap" in spec else None
        self.paid_in_own_currency(cap, path + ("cap",), cid)
        if cap is not None and award is None:
            self.error(msg("compile.cap_without_award", id=cid), path + ("cap",), clause=cid, prefer_key=True)
        refers_to, refers_clause = spec.get("refers_to"), None
        rpath: Path_ = path + ("refers_to",)
        if isinstance(refers_to, dict):
            refers_to, refers_clause = refers_to["document"], refers_to["clause"]
            rpath = rpath + ("document",)
        if refers_to is not None and refers_to not in self.references:
            self.error(msg("compile.unknown_reference", document=refers_to), rpath, clause=cid,
                       suggestion=did_you_mean(refers_to, self.references) or msg("compile.unknown_reference.hint"))
        requires = tuple(spec.get("requires", ()))
        for r in requires:
            if r not in self.clause_ids:
                self.error(msg("compile.unknown_required", id=r), path + ("requires",), clause=cid,
                           suggestion=did_you_mean(r, self.clause_ids))
        per = spec.get("per")
        if per is not None:
            self.typed_fact(per, path + ("per",), cid, "text")
            if spec.get("period", "claim") == "claim":
                self.error(msg("compile.per_without_period", id=cid), path + ("per",), clause=cid,
                           suggestion=msg("compile.per_without_period.hint"))
        offset = None
        if "offset" in spec:  # 就高不重复 across programmes: what was received elsewhere for the same item
            o = spec["offset"]
            amount = self.expr(o["amount"], path + ("offset", "amount"), self.scope, NUM, cid)
            if award is None:
                self.error(msg("compile.offset_without_award", id=cid), path + ("offset",), clause=cid,
                           prefer_key=True, suggestion=msg("compile.offset_without_award.hint"))
            offset = Offset(amount, o.get("label"), o.get("source")) if amount is not None else None
        start, end = _date(spec.get("from")), _date(spec.get("until"))
        if start and end and end < start:
            self.error(msg("compile.clause_order", id=cid, end=end, start=start), path + ("until",), clause=cid)
        return Clause(
            id=cid, article=spec.get("article"), title=spec["title"], text=spec.get("text"),
            recipients=recipients, conditions=tuple(conditions), award=award, cap=cap,
            period=spec.get("period", "claim"), per=per, refers_to=refers_to, refers_clause=refers_clause,
            measure=spec.get("measure"),
            requires=requires, readings=self.reading_ids(spec.get("reading"), path + ("reading",), cid),
            note=spec.get("note"), start=start, end=end, where=self.where(path),
            award_where=self.where(path + ("award",)) if "award" in spec else Where(), offset=offset,
            up_to=award is not None and (bool(spec["award"].get("up_to")) or award.ceiling()),
        )

    def award(self, spec: Document, path: Path_, cid: str) -> AwardForm | None:
        """The award form named by the spec's keys (engine.model.awards), built by its own class."""
        keys = set(spec) - {"up_to"}  # any form may be a ceiling (Clause.up_to)
        shapes = [keyword for keyword, form in FORMS.items() if form.required & keys]
        if len(shapes) != 1:
            self.error(msg("compile.award_form.mixes", shapes=", ".join(shapes)) if shapes
                       else msg("compile.award_form"), path, clause=cid, prefer_key=True)
            return None
        form = FORMS[shapes[0]]
        shape = form.keyword
        for key in sorted(form.required - keys):
            # `amount:` alone reads as 给予10万元, but it is a bonus's key: a fixed award is written `fixed:`
            hint = msg("compile.award_amount_alone.hint", amount=_plain_value(spec["amount"])) \
                if key == "bonus_to" and keys <= {"amount", "mode"} else None
            self.error(msg("compile.award_needs", shape=shape, name=key), path, clause=cid, prefer_key=True,
                       suggestion=hint)
        allowed = form.required | form.optional | {"up_to"}  # any award may be a ceiling (up_to: true)
        for key in sorted(keys - allowed):  # every key the form takes, never "… and N more"
            self.error(msg("compile.award_extra", name=key, shape=shape), path + (key,), clause=cid,
                       prefer_key=True, suggestion=msg("compile.award_extra.hint", shape=shape,
                                                       names=one_of(allowed, len(allowed))))
        if form.required - keys or keys - form.required - form.optional:
            return None
        return form.build(spec, _FormCompiler(self, spec, path, cid))

    def check_dependencies(self, clauses: tuple[Clause, ...]) -> bool:
        """A clause may require or add to others; those links must not loop. Whether one did."""
        looped = False
        deps = {c.id: set(c.dependencies()) for c in clauses}
        by_id = {c.id: c for c in clauses}
        for c in clauses:
            for target_id in c.award.depends_on() if c.award is not None else ():
                target = by_id.get(target_id)
                if target is not None and (target.award is None or target.award.depends_on()):
                    self.error(msg("compile.bonus_to_no_award", id=c.id, target=target.id),
                               ("clauses", self.clause_ids.index(c.id), "award", "bonus_to"), clause=c.id)
        # Depth-first with an explicit stack (a chain of thousands of requires: must not hit Python's
        # recursion limit); each loop is reported once, at the clause where the walk first meets it again.
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        for start in deps:
            if state.get(start):
                continue
            path: list[str] = []
            stack: list[tuple[str, Iterator[str]]] = []
            state[start] = 1
            path.append(start)
            stack.append((start, iter(sorted(deps[start]))))
            while stack:
                cid, pending = stack[-1]
                step = next((d for d in pending if d in deps), None)
                if step is None:
                    stack.pop()
                    path.pop()
                    state[cid] = 2
                elif state.get(step) == 1:
                    loop = path[path.index(step):] + [step]
                    self.error(msg("compile.loop", loop=" → ".join(loop)),
                               ("clauses", self.clause_ids.index(step)), clause=step)
                    looped = True
                elif not state.get(step):
                    state[step] = 1
                    path.append(step)
                    stack.append((step, iter(sorted(deps[step]))))
        return looped

    def check_group_loops(self, clauses: tuple[Clause, ...], groups: tuple[Group, ...]) -> None:
        """An exclusive group chooses once all its members are decided, and a clause that needs a member waits
        for that choice: so no member may need another member of its group, directly or through other clauses
        (engine.model.order, the graph the runtime follows). Reported once, at the first clause of the loop."""
        _order, stuck = decision_order(clauses, groups)
        if not stuck:
            return
        loop = loop_through(clauses, groups, stuck)
        group = next(nid for kind, nid in loop if kind == "g")
        first = next(nid for kind, nid in loop if kind == "c")
        by_group = {g.id: g for g in groups}
        by_id = {c.id: c for c in clauses}
        # Written as clauses: a clause, then what it needs (for a group's member: "2.2 (g)", after which the
        # group waits for the next clause of the loop).
        start = next(i for i, (kind, _n) in enumerate(loop) if kind == "c")
        nodes = loop[start:-1] + loop[:start] + [loop[start]]
        words: list[str] = []
        for (kind, nid), (next_kind, next_id) in zip(nodes, nodes[1:], strict=False):
            if kind == "c":
                words.append(nid)
                if next_kind == "g":
                    member = next(d for d in by_id[nid].dependencies() if d in by_group[next_id].members)
                    words.append(f"{member} ({next_id})")
        words.append(nodes[-1][1])
        self.error(msg("compile.group_loop", loop=" → ".join(words), group=group,
                       members=", ".join(by_group[group].members)),
                   ("clauses", self.clause_ids.index(first)), clause=first,
                   suggestion=msg("compile.group_loop.hint", group=group))

    def group(self, index: int, spec: Document) -> Group:
        path: Path_ = ("groups", index)
        if spec["id"] in self.group_ids:
            self.error(msg("compile.duplicate_group", id=spec["id"]), path + ("id",),
                       suggestion=msg("compile.duplicate_group.hint"))
        self.group_ids.add(spec["id"])
        if spec["pick"] != "all":
            for member in spec["members"]:
                other = self.exclusive_member_of.get(member)
                if other is not None:
                    self.error(msg("compile.overlapping_groups", id=member, first=other, second=spec["id"]),
                               path + ("members",), suggestion=msg("compile.overlapping_groups.hint"))
                self.exclusive_member_of.setdefault(member, spec["id"])
        known = set(self.clause_ids)
        for i, member in enumerate(spec["members"]):
            if member not in known:
                self.error(msg("compile.unknown_member", group=spec["id"], id=member),
                           path + ("members", i), suggestion=did_you_mean(member, self.clause_ids))
        reading = spec.get("reading")
        if reading:
            self.reading_ids(reading, path + ("reading",), None)
        return Group(spec["id"], tuple(spec["members"]), spec["pick"], reading, spec.get("earlier", "top_up"),
                     spec.get("note"), self.where(path))



def _alternative(spec: str | Document) -> Alternative:
    if isinstance(spec, str):
        return Alternative(spec)
    return Alternative(spec["choice"], spec.get("effect"), spec.get("change"))


class _FormCompiler:
    """What an award form's `build` may ask of the compiler (engine.model.awards.base.Compiler)."""

    def __init__(self, compiler: _Compiler, spec: Document, path: Path_, clause: str):
        self.compiler, self.spec, self.path, self.clause = compiler, spec, path, clause

    def paid(self, key: Key) -> Expr | None:
        expr = self.number(key)
        self.compiler.paid_in_own_currency(expr, self.path + ((key,) if isinstance(key, str) else key), self.clause)
        return expr

    def number(self, key: Key) -> Expr | None:
        keys = (key,) if isinstance(key, str) else key
        entry: Any = self.spec
        for k in keys[:-1]:  # a path into a nested entry the schema shaped (a band of a tiers award)
            entry = entry[k]
        if keys[-1] not in entry:
            return None
        return self.compiler.expr(entry[keys[-1]], self.path + keys, self.compiler.scope, NUM, self.clause)

    def condition(self, key: str, item_fields: Mapping[str, Fact] | None = None) -> Expr | None:
        scope = dict(self.compiler.scope)
        scope.update({n: NameInfo(f.kind.value, f.choices, self.compiler.fact_dim(f))
                      for n, f in (item_fields or {}).items()})
        return self.compiler.expr(self.spec[key], self.path + (key,), scope, BOOL, self.clause)

    def error(self, key: Key, message: str, suggestion: str | None = None) -> None:
        self.compiler.error(message, self.path + ((key,) if isinstance(key, str) else key), clause=self.clause,
                            suggestion=suggestion)

    def declared(self, name: str) -> tuple[str, str] | None:
        if name in self.compiler.facts:
            return "fact", self.compiler.facts[name].type
        if name in self.compiler.parameters:
            return "parameter", self.compiler.parameters[name].type
        return None

    def list_fact(self, key: str) -> Fact | None:
        name = self.spec[key]
        fact = self.compiler.facts.get(name)
        if fact is None or not fact.kind.takes_items:
            lists = [n for n, f in self.compiler.facts.items() if f.kind.takes_items]
            self.error(key, msg("compile.for_each.undeclared", name=name) if fact is None
                       else msg("compile.for_each.not_list", name=name, type=fact.type), did_you_mean(name, lists))
            return None
        return fact

    def clause_ids(self) -> list[str]:
        return self.compiler.clause_ids
