"""The message catalogue: every sentence the engine shows, in Chinese and English.

The texts are data, one flat {key: text} file per language next to this module: locale/zh.json and
locale/en.json. Both hold the same keys with the same {placeholders} (tests/test_core_messages.py), and every
key the code looks up is a string literal that exists in both (tests/test_core_messages_keys.py): a key chosen at
run time goes through an explicit mapping of literal keys, never through a key built from pieces.

Key prefixes and who shows them:
  outcome.* head.* date.* sec.* total.* cond.* step.* item.* rounding.* period.* reason.* pick.* hop.*
  missing.* reading colon yes no unknown_value
            the calculation sheet (engine/present/sheet.py)
  review.*  the policy rendered for officers who check it without opening YAML (engine/present/review.py)
  problem.* severity.*  how every problem is laid out (engine/core/errors.py); the file:line:col prefix and
            the JSON path stay as they are in both languages, so editors and officers find the same spot
  suggest.* did-you-mean suggestions (engine/core/suggest.py); names stay as written, in ASCII quotes
  load.*    reading a file as strict YAML (engine/syntax/loader.py)
  schema.*  a document that breaks the JSON Schema (engine/syntax/schema.py); type words and value
            descriptions are messages of their own, nested in the sentences; schema.jsonschema keeps the
            validator's English sentence for checks this engine does not word itself
  amount.*  a number or amount that cannot be read (engine/core/amounts.py)
  compile.* a well-formed document that says something impossible (engine/model/compile.py)
  expr.*    the expression language (engine/lang/expressions.py); code an officer types stays as written
  facts.*   an applicant's facts that do not fit the policy (engine/model/facts.py)
  evaluate.* evaluation stopped by something the policy author must fix (engine/runtime/interpret.py)
  references.* clauses that take their amount from another document (engine/model/references.py)
  library.* finding a policy file by its id or document number (engine/workspace.py)
  inherit.* a county file that extends the city's policy (engine/syntax/inherit.py)
  lint.*    what the schema cannot see (engine/tools/lint.py); {when} is empty or lint.from_date
  test.*    officers' test cases and their coverage (engine/tools/testing.py); test.outcome.* is the code
            the test file uses, with its words in Chinese
  diff.*    what changed between two versions of a policy, and for whom (engine/tools/diff.py);
            diff.field.* in English is the name the diff has always shown (and its JSON carries)
  cli.* fork.*  what the `policy` command says itself (cli.py, engine/tools/fork.py). `N passed, N failed`
            is not here: it is the English summary of `policy test --lang en`, which CI tooling reads.

Every text is formatted with str.format, so a literal brace is written {{ }} in every entry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from types import MappingProxyType
from typing import Self

LANGS = ("zh", "en")

# A clause outcome's words, by its code. A key chosen by a value comes from a mapping of literal keys like
# this one, t(OUTCOME_KEYS[outcome], lang), never from a key built at run time, so that
# tests/test_core_messages_keys.py can check every key the code may look up.
OUTCOME_KEYS = {"eligible": "outcome.eligible", "ineligible": "outcome.ineligible",
                "undetermined": "outcome.undetermined", "referred": "outcome.referred",
                "not_applicable": "outcome.not_applicable"}


@cache
def texts(lang: str) -> Mapping[str, str]:
    """The catalogue in `lang` (one of LANGS), {key: text}, read from locale/<lang>.json on first use."""
    import json
    import pkgutil  # the package's own loader reads it (a zip too), without importlib.resources' imports

    if lang not in LANGS:
        raise ValueError(f"no message catalogue for language {lang!r}; there are {', '.join(LANGS)}")
    data = pkgutil.get_data(__name__.rpartition(".")[0], f"locale/{lang}.json")
    if data is None:
        raise FileNotFoundError(f"locale/{lang}.json beside {__file__}")
    return MappingProxyType(json.loads(data.decode("utf-8")))


class _Catalogue(Mapping[str, Mapping[str, str]]):
    """The catalogue seen by key: CATALOGUE[key] == {"zh": ..., "en": ...}, the languages that have it."""

    def __getitem__(self, key: str) -> Mapping[str, str]:
        entry = {lang: texts(lang)[key] for lang in LANGS if key in texts(lang)}
        if not entry:
            raise KeyError(key)
        return entry

    def __contains__(self, key: object) -> bool:
        return any(key in texts(lang) for lang in LANGS)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(key for lang in LANGS for key in texts(lang)))

    def __len__(self) -> int:
        return sum(1 for _ in self)


CATALOGUE: Mapping[str, Mapping[str, str]] = _Catalogue()


def t(key: str, lang: str = "zh", /, **values: object) -> str:
    """The message `key` in `lang`, with `{name}` slots filled (Message values in the same language).

    Always formatted, so a literal brace is written {{ }} in every entry, with values or without. A key
    missing from `lang` (or any other language than LANGS) falls back to English; one missing from English
    raises KeyError.
    """
    text = texts(lang).get(key) if lang in LANGS else None
    if not text:
        text = texts("en")[key]
    return text.format(**{name: localize(value, lang) for name, value in values.items()})


class Message(str):
    """A catalogue message: its value is the English text, so it reads, compares and serialises like the
    plain string the engine always produced; `localized()` renders the same message in another language."""

    key: str
    values: Mapping[str, object]

    def __new__(cls, text: str, key: str = "", values: Mapping[str, object] | None = None) -> Self:
        self = super().__new__(cls, text)
        self.key = key
        self.values = dict(values or {})
        return self

    def localized(self, lang: str | None) -> str:
        if lang is None or not self.key:
            return str(self)
        return t(self.key, lang, **self.values)


def msg(key: str, /, **values: object) -> Message:
    """The catalogue message `key` with its values: English as a string, any language via localize()."""
    return Message(t(key, "en", **values), key, values)


def localize(text: object, lang: str | None) -> object:
    """A Message in `lang` (None: English, as stored); anything else unchanged."""
    if isinstance(text, Message):
        return text.localized(lang)
    return text
