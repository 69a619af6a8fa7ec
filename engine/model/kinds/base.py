"""What every kind of fact is: how it is declared, read, checked, shown, typed into a sheet and stored.

A kind is one class in one file of this package; `engine.model.kinds.KINDS` finds it by its `keyword` (the
`type:` a policy file declares). The facts loader and its fast checker, the compiler, the sheet, the
spreadsheet reader and template, the form and lint only ever ask a kind, never compare a fact's type by name,
so a new kind needs no edit anywhere else (tests/test_model_kinds.py checks that each kind has it all).

The full conversion (`convert`, after the JSON Schema of `schema`) decides what is accepted and words every
problem; the fast one (`fast`) accepts a subset of it and converts each value to exactly the same object, or
raises `Refuse` and leaves the value to the full path. They sit side by side in each kind's file.
"""

from __future__ import annotations

import datetime as dt
import json
from abc import ABC, abstractmethod
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Protocol

from engine.core.amounts import CURRENCIES
from engine.core.format import as_written, show
from engine.core.messages import Message
from engine.core.text import unwanted
from engine.lang.units import Dim

if TYPE_CHECKING:
    from engine.core.errors import ProblemList
    from engine.model.declared import Fact
    from engine.syntax.loader import Path_, SourceMap

class Measured(Protocol):
    """What a kind reads of a fact or parameter for its dimension."""

    @property
    def unit(self) -> str | None: ...
    @property
    def currency(self) -> str | None: ...


# A fast converter: the value of a plainly valid raw value, or Refuse.
Converter = Callable[[Any], object]


class Refuse(Exception):
    """Not plainly valid: the full path decides (and words the problem, if there is one)."""


class BadCell(Exception):
    """A spreadsheet cell no facts file could hold (a date in a number column): the column and why."""

    def __init__(self, message: Message, suggestion: Message | None):
        super().__init__(message)
        self.message, self.suggestion = message, suggestion


# A message and its suggestion.
Refusal = tuple[Message, "Message | None"]


class FactKind(ABC):
    """One kind of fact. Subclasses set the class attributes and implement the abstract methods."""

    keyword: ClassVar[str] = ""  # `type: money` in a policy file
    value: ClassVar[str]  # its type in expressions: engine.lang.expressions NUM, BOOL, TEXT, DATE or LIST
    measure: ClassVar[str] = "number"  # how engine.core.format shows and writes it: money, percent or number
    column_type: ClassVar[str]  # its column in a columnar engine (DuckDB/Arrow), for compiled SQL
    ordered: ClassVar[bool] = False  # its values are ordered: a pool may be ordered by it
    numeric: ClassVar[bool] = False  # a Decimal with min/max bounds: one fact may be at_most another of its kind
    in_lists: ClassVar[bool] = True  # it may be a field of a list's items
    takes_items: ClassVar[bool] = False  # it declares `items:` (and may declare `unique:`): a list
    takes_choices: ClassVar[bool] = False  # it may declare `choices:`
    sample: ClassVar[object]  # a value a facts file may give (an example list item)
    number_format: ClassVar[str | None] = None  # an XLSX template's example cell's format
    bool_is_value: ClassVar[bool] = False  # True or False in a facts file is the value as it stands
    cell_as_text: ClassVar[bool] = False  # a sheet's text cell is kept as typed (stripped), then read as in a file
    cell_words: ClassVar[Mapping[str, object]] = {}  # texts read_cell reads, with their values, for a quick look-up
    # sql_parse reads no text with a space first or last (none of its plain forms has one): a round's query need not
    # strip such a cell before it (a cell with spaces around is then the row engine's, which strips it)
    sql_unstripped: ClassVar[bool] = False

    @abstractmethod
    def form_words(self) -> Message:
        """How a value of this kind is written, in a facts message (a literal catalogue key: facts.form.<kind>)."""

    # --- facts files: the schema, then the full conversion; the fast conversion beside it ------------------

    @abstractmethod
    def schema(self, fact: Fact) -> dict[str, Any]:
        """The JSON Schema of a value of `fact` in a facts file (without its description)."""

    @abstractmethod
    def convert(self, fact: Fact, raw: Any, path: Path_, source: SourceMap, problems: ProblemList,
                own: str) -> object:
        """The value of a schema-valid `raw`; a problem added (and None) for one no value can be."""

    @abstractmethod
    def fast(self, fact: Fact) -> Converter:
        """The fast converter of `fact`: the value `convert` gives, for a subset of what it accepts; else Refuse."""

    def declaration_problems(self, fact: Fact) -> list[tuple[Message, str]]:
        """What is wrong with how a policy declares a fact of this kind: each message, and the key of the
        declaration it is about (`unit` for an area in 亩)."""
        return []

    def refusal(self, fact: Fact, value: object, validator: str, limit: object) -> Refusal | None:
        """What to say of a value the facts schema refuses (by `validator`, with its `limit`) when it is more
        than a value of the wrong kind (a negative amount, text that is not one of the choices); else None."""
        return None

    def wrong_type_hint(self, value: object) -> Message | None:
        """What to suggest when a facts file gives a value the schema refuses."""
        return None

    def restored(self, stored: str) -> object:
        """A value the ledger keeps as an exact string, as a facts file would give it (engine.ledger.replay)."""
        return stored

    # --- expressions ----------------------------------------------------------------------------------------

    def dim(self, fact: Measured, currency: str) -> Dim | None:
        """What a value of a fact (or parameter) measures in expressions (engine.lang.units); None for what is
        not a number."""
        return None

    # --- the sheet and policy files -------------------------------------------------------------------------

    def show(self, value: object, fact: Fact, lang: str = "zh") -> str:
        """A value as the calculation sheet shows it."""
        return show(value, self.measure, fact.unit, lang)

    def shown_unit(self, fact: Fact) -> str | None:
        """The unit shown after a value of `fact` (its currency's word for money in another currency)."""
        return CURRENCIES[fact.currency] if fact.currency else fact.unit

    def as_written(self, value: object, fact: Fact) -> str:
        """A value as an officer writes it in a policy file (a bound, an example)."""
        return as_written(value, self.measure, None)

    def bound(self, fact: Fact, value: Decimal) -> str:
        """A declared bound as the applicant would write it, in a facts message."""
        return as_written(value, self.measure, None)

    # --- spreadsheets and CSV -------------------------------------------------------------------------------

    def column(self, fact: Fact) -> str:
        """The column type of `fact` in a columnar engine: column_type, or one made of its own (a list's items)."""
        return self.column_type

    @abstractmethod
    def sql_parse(self, fact: Fact, text: str) -> str | None:
        """SQL (DuckDB) reading a cell's text (`text`: a VARCHAR expression, stripped, never empty) as `fact`'s
        column_type: the value the facts check gives for a plain form of it within the fact's bounds, NULL for
        any other text (the row engine then reads that row, and words what it refuses). None: no SQL reads this
        kind (its rows go to the row engine). tests/test_fact_kinds.py checks that each kind writes its own,
        agreeing with `fast`. Most kinds write it as sql_read: their sql_pattern, then their sql_value."""

    def sql_stages(self, fact: Fact, text: str) -> tuple[str, Callable[[str], str]] | None:
        """sql_parse in two steps, for a round's query where a value read costs less kept in a column than
        written twice: SQL over the text, and what makes of that column (SQL) the value sql_parse gives. None:
        sql_parse in one step."""
        return None

    def sql_pattern(self, fact: Fact, quoted: bool = False) -> str | None:
        """The plain forms sql_parse reads, as one RE2 pattern a text matches whole (a list's cell checks each
        field's JSON strings with it, engine.model.kinds.items); None where none says them. `quoted`: the form of
        a JSON string's text as written, with no quote, backslash or control character (no escapes) and no space
        first or last."""
        return None

    def sql_value(self, fact: Fact, text: str) -> str:
        """SQL reading a text that sql_pattern matches as the column_type, without a regular expression (a list's
        fields are read in a lambda, whose state DuckDB builds again for every vector); NULL where the pattern
        says too little (a date that is no day)."""
        raise NotImplementedError(f"{self.keyword}: no sql_value")

    @abstractmethod
    def read_cell(self, value: object, header: str) -> object:
        """A cell of a sheet as the facts-file value the facts loader then reads; BadCell when it cannot be one."""

    def write_cell(self, value: object) -> object:
        """A facts-file value as a cell a sheet holds (and read_cell reads back to the same value)."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, tuple)):
            return json.dumps(value, ensure_ascii=False, default=str)
        if isinstance(value, Decimal):
            return f"{value:f}"
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        return value

    @abstractmethod
    def example(self, fact: Fact, lang: str, xlsx: bool) -> object:
        """The template's example cell (an XLSX cell's value when xlsx, else CSV text)."""

    @abstractmethod
    def note(self, fact: Fact, lang: str) -> str:
        """The template's notes-row text for a column of this kind (catalogue: template.type.<kind>)."""

    def choices(self, fact: Fact, lang: str) -> list[str]:
        """The values a sheet's drop-down list offers."""
        return list(fact.choices)

    # --- the service's form ---------------------------------------------------------------------------------

    # The form's input for a value of this kind: text (typed as written: 50万元, 60%), whole (a number pad; sent
    # as a JSON number when it is digits), yes_no (a choice of yes, no, not known), date, or items (a table).
    form_input: ClassVar[str] = "text"

    def form_unit(self, fact: Fact, lang: str) -> str:
        """What the form shows after the input."""
        return fact.unit or ""

    def form_example(self, fact: Fact, lang: str) -> str:
        """The input's placeholder."""
        return ""

    def form_bound(self, value: Decimal) -> str:
        """A bound as the form's input takes it."""
        return as_written(value)

    # --- lint -----------------------------------------------------------------------------------------------

    def implied_minimum(self, fact: Fact) -> Decimal | None:
        """The least value a fact of this kind can take when none is declared (lint compares conditions with it:
        `x >= -5` of money is always true)."""
        return None

    def implied_minimum_words(self, name: str, value: str) -> Message:
        """How lint words the implied minimum of fact `name` (`value` as written)."""
        raise NotImplementedError(f"{self.keyword} implies no minimum")

    def out_of_range(self, value: Decimal, words: Mapping[str, object]) -> Refusal | None:
        """What lint says of a parameter's value no value of this kind can be (a percentage above 100%, negative
        money), with its hint, worded with `words` (value as written, name, label, start); None when it can be."""
        return None


# RE2: a control, format or separator character other than the space (\\p{C} and \\p{Z} but U+0020, with those
# that were separators in older Unicode tables): one search, cheaper than removing the spaces first
UNPLAIN = "[\\p{C}\\p{Zl}\\p{Zp}\\x{A0}\\x{1680}\\x{180E}\\x{2000}-\\x{200B}\\x{202F}\\x{205F}\\x{3000}]"


def sql_plain(text: str) -> str:
    """SQL: `text` has no character UNPLAIN finds (as plain_text, or stricter: the row engine words those)."""
    return f"NOT regexp_matches({text}, '{UNPLAIN}')"


def sql_read(kind: FactKind, fact: Fact, text: str) -> str | None:
    """SQL: a cell's text read by the kind's sql_pattern and sql_value (NULL where the pattern does not match)."""
    pattern = kind.sql_pattern(fact)
    if pattern is None:
        return None
    return f"CASE WHEN regexp_full_match({text}, '{pattern}') THEN {kind.sql_value(fact, text)} END"


def re2_literal(text: str) -> str:
    """`text` as an RE2 pattern matching it alone, fit to stand in an SQL string: ASCII letters and digits as they
    are, other ASCII characters by their code, the rest as they are."""
    return "".join(c if c.isalnum() or not c.isascii() else f"\\x{{{ord(c):02X}}}" for c in text)


def sql_within(fact: Fact, value: str) -> str | None:
    """SQL: whether `value` (the fact's column, parsed by its kind's sql_parse) keeps to the fact's declared min
    and max, or None when it declares neither (outside them the row engine words the problem)."""
    tests = []
    for op, bound in ((">=", fact.minimum), ("<=", fact.maximum)):
        if bound is not None:
            text = f"{bound:f}"
            tests.append(f"{value} {op} CAST('{text}' AS DECIMAL(38,{len(text.partition('.')[2])}))")
    return " AND ".join(tests) or None


def plain_text(raw: str) -> bool:
    """True for text with no character engine.core.text.unwanted finds (the full path refuses those in data
    given from Python; a file's were refused as it was read). Printable text has none: one C call."""
    return raw.isprintable() or unwanted(raw) is None
