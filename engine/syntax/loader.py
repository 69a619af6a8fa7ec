"""Strict YAML/JSON loading: plain data with Decimal numbers, text dates, and a map of source marks."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, TypeVar

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, Event
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.core.amounts import out_of_range
from engine.core.errors import LoadError, Problem
from engine.core.messages import msg
from engine.core.text import line_and_column, name_of, unwanted

MAX_BYTES = 1024 * 1024  # a policy or facts file is a few KiB; anything near this is a mistake or an attack
MAX_DEPTH = 64

Path_ = tuple[str | int, ...]  # a JSON path from the document's root: str keys and int indexes
_V = TypeVar("_V")

# YAML 1.2 core schema, narrowed: no yes/no/on/off booleans, no octal or sexagesimal numbers,
# no dates (kept as text until the schema checks them), numbers as Decimal.
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_NULL = {"", "~", "null", "Null", "NULL"}
_NUMBER = re.compile(r"[-+]?(?:\d[\d_]*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")  # a mantissa: E1 is text
_HAS_DIGIT = re.compile(r"\d")
_CJK = "\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
# A line break between two Chinese characters, or after a Chinese mark (、，。), is no space in Chinese:
# "…、\n100万元" reads 、100万元. A space an author typed between Chinese and Latin text ("组 pick") stays.
_CJK_MARKS = "\u3000-\u303f\uff00-\uffef"


@functools.cache
def _cjk_fold() -> re.Pattern[str]:
    """Compiled when first used: its wide classes cost a run ms to compile, and few files fold a scalar (>)."""
    return re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])|(?<=[{_CJK_MARKS}]) (?=\\S)")


# With no implicit resolvers every untagged node gets one of these; anything else was tagged explicitly.
_IMPLICIT_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a loaded document starts, by JSON path; 1-based.

    A document merged from several files (a county file extending the city's) keeps, in `files`, the
    file each inherited mark came from, so a problem in an inherited line points at the parent's line.
    """

    file: str
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    files: dict[Path_, str] = field(default_factory=dict)  # only for marks from a file other than `file`
    texts: dict[str, str] = field(default_factory=dict)  # the text of each file the marks point into

    def mark(self, path: Sequence[str | int], prefer_key: bool = False) -> tuple[int | None, int | None]:
        """The nearest known position for `path`, walking up to a parent when the path itself has none."""
        _file, line, col = self.locate(path, prefer_key)
        return (line, col)

    def locate(self, path: Sequence[str | int], prefer_key: bool = False) -> tuple[str, int | None, int | None]:
        """Like mark(), with the file the position is in."""
        at: Path_ = tuple(path)
        while True:
            table = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            for t in table:
                if at in t:
                    return (self.files.get(at, self.file), *t[at])
            if not at:
                return (self.file, None, None)
            at = at[:-1]

    def file_of(self, path: Sequence[str | int]) -> str:
        return self.files.get(tuple(path), self.file)

    def line_text(self, file: str, line: int) -> str:
        """One line of one of the files this map points into ('' when its text is not known)."""
        lines = self.texts.get(file, "").splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def subtree(self, prefix: Sequence[str | int]) -> SourceMap:
        """The marks of the value at `prefix`, re-keyed so that path () is that value."""
        at: Path_ = tuple(prefix)
        return SourceMap(self.file, _under(self.values, at), _under(self.keys, at), _under(self.files, at),
                         self.texts)

    def problem(self, message: str, path: Sequence[str | int], *, prefer_key: bool = False,
                clause: str | None = None, suggestion: str | None = None, severity: str = "error",
                inherited_by: str | None = None) -> Problem:
        """A Problem at `path`; one in an inherited line also names this file, the one that inherits it."""
        file, line, col = self.locate(path, prefer_key)
        if file != self.file and inherited_by is None:
            inherited_by = self.file
        return Problem(message, file=file, line=line, column=col, path=tuple(path), clause=clause,
                       suggestion=suggestion, severity=severity, inherited_by=inherited_by)


def _under(table: Mapping[Path_, _V], prefix: Path_) -> dict[Path_, _V]:
    """The entries of `table` at or under `prefix`, keyed by their path relative to it."""
    n = len(prefix)
    return {p[n:]: m for p, m in table.items() if p[:n] == prefix}


@dataclass
class Loaded:
    """A document as read: its plain data, where each value is in the text, and the text."""

    data: object
    source: SourceMap
    text: str


class _StrictComposer(Composer):
    _depth = 0

    if TYPE_CHECKING:
        # Provided by yaml.parser.Parser, which _Loader mixes in before this class (its stub leaves it untyped).
        def peek_event(self) -> Event: ...

    def compose_node(self, parent: Node | None, index: int) -> Node | None:  # PyYAML hook
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise _Reject(msg("load.alias"), event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _Reject(msg("load.anchor", anchor=anchor), event.start_mark)
        # PyYAML composes recursively: refuse deep nesting here, before Python's own recursion limit does.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Reject(msg("load.too_deep", depth=MAX_DEPTH), event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Position(Protocol):
    """Where an event starts (PyYAML's pure-Python or C Mark); 0-based."""

    line: int
    column: int


class _Reject(Exception):
    """A YAML feature this engine refuses (aliases, anchors, deep nesting), at the mark where it starts."""

    def __init__(self, message: str, mark: _Position | None):
        super().__init__(message)
        self.message = message
        self.mark = mark


class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, _StrictComposer,
              yaml.resolver.BaseResolver):
    def __init__(self, stream: str):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _StrictComposer.__init__(self)
        yaml.resolver.BaseResolver.__init__(self)


if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser

    class _FastLoader(_StrictComposer, CParser, yaml.resolver.BaseResolver):
        """LibYAML's scanner and parser (C, about 20× faster) feeding the same strict composer.

        _StrictComposer comes first so its Python composing (refusing aliases, anchors, deep nesting) is
        used, not LibYAML's own; the events and their marks come from C.
        """

        def __init__(self, stream: str):
            CParser.__init__(self, stream)
            _StrictComposer.__init__(self)
            yaml.resolver.BaseResolver.__init__(self)

    _LOADER: type = _FastLoader
else:  # PyYAML built without LibYAML: the pure-Python parser, same rules
    _LOADER = _Loader


def read_text(path: str) -> tuple[str, str]:
    """Read a file (or '-' for stdin) as UTF-8 text, within the size limit. Returns (display name, text)."""
    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise LoadError(Problem(msg("load.no_file", path=path), file=name,
                                suggestion=msg("load.no_file.hint"))) from None
    except IsADirectoryError:
        raise LoadError(Problem(msg("load.folder", path=path), file=name)) from None
    except OSError as exc:
        raise LoadError(Problem(msg("load.cannot_read", path=path, reason=exc.strerror), file=name)) from None
    if len(raw) > MAX_BYTES:
        raise LoadError(Problem(msg("load.too_large", kib=MAX_BYTES // 1024), file=name,
                                suggestion=msg("load.too_large.hint")))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise LoadError(Problem(msg("load.not_utf8", byte=f"{raw[exc.start]:#04x}"), file=name, line=line,
                                column=column, suggestion=msg("load.not_utf8.hint"))) from None
    return name, text.removeprefix("\ufeff")


def load_file(path: str) -> Loaded:
    """The YAML or JSON document in the file at `path`, with its source marks; LoadError if it cannot be read."""
    name, text = read_text(path)
    return load_text(text, name)


def load_text(text: str, name: str = "<input>") -> Loaded:
    """Parse YAML (or JSON, a subset of it here) strictly into plain data plus a SourceMap."""
    source = SourceMap(name, texts={name: text})
    bad = unwanted(text)
    if bad is not None:
        line, column = line_and_column(text, bad)
        raise LoadError(Problem(msg("load.bad_character", char=name_of(text[bad])), file=name, line=line,
                                column=column, suggestion=msg("load.bad_character.hint")))
    if name.endswith(".json") or text.lstrip().startswith(("{", "[")):
        # JSON allows tabs as white space where YAML does not; outside strings (where JSON forbids raw
        # tabs anyway) a tab and a space mean the same, and columns stay the same.
        text_for_yaml = text.replace("\t", " ")
    else:
        text_for_yaml = text
    try:
        node = _compose(text_for_yaml)
    except _Reject as exc:
        mark = exc.mark
        raise LoadError(Problem(exc.message, file=name, line=mark.line + 1 if mark else None,
                                column=mark.column + 1 if mark else None)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        raise LoadError(Problem(msg("load.invalid_yaml", what=what), file=name,
                                line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
                                suggestion=_yaml_hint(what))) from None
    except yaml.YAMLError as exc:
        raise LoadError(Problem(msg("load.invalid_yaml", what=str(exc)), file=name)) from None
    if node is None:
        raise LoadError(Problem(msg("load.empty"), file=name))
    data = _construct(node, (), source, 0)
    return Loaded(data, source, text)


def _compose(text: str) -> Node | None:
    """The document's node tree: by LibYAML when there is one; a file it finds wrong is read again by the
    pure-Python parser, whose messages say more (a tab, say, by name), so every problem reads the same."""
    for loader_class in dict.fromkeys((_LOADER, _Loader)):
        loader = loader_class(text)
        try:
            return loader.get_single_node()  # type: ignore[no-any-return]
        except yaml.YAMLError:
            if loader_class is _Loader:
                raise
        finally:
            loader.dispose()
    raise AssertionError("unreachable")


def _yaml_hint(what: str) -> str | None:
    if "\\t" in what or "tab" in what:
        return msg("load.hint.tabs")
    if "mapping values are not allowed" in what:
        return msg("load.hint.quote_colon")
    if "could not find expected ':'" in what:
        return msg("load.hint.key_value")
    return None


def _check_text(value: str, node: Node, source: SourceMap, path: Path_) -> None:
    """An escape in a quoted string ("\\ud800", "\\x01") can make what the raw text check cannot see."""
    bad = unwanted(value)
    if bad is not None:
        line, col = _mark(node)
        raise LoadError(Problem(msg("load.bad_character", char=name_of(value[bad])), file=source.file, line=line,
                                column=col, path=path, suggestion=msg("load.bad_character.hint")))


def _mark(node: Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _construct(node: Node, path: Path_, source: SourceMap, depth: int) -> object:
    """Plain data from a node: dict[str, ...], list, str, Decimal, bool or None, every mark put in `source`."""
    if depth > MAX_DEPTH:
        raise LoadError(source.problem(msg("load.too_deep", depth=MAX_DEPTH), path))
    source.values[path] = _mark(node)
    if node.tag not in _IMPLICIT_TAGS:
        line, col = _mark(node)
        raise LoadError(Problem(msg("load.tag", tag=node.tag.replace('tag:yaml.org,2002:', '!!')),
                                file=source.file, line=line, column=col, path=path,
                                suggestion=msg("load.tag.hint")))
    if isinstance(node, MappingNode):
        out: dict[str, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                line, col = _mark(key_node)
                raise LoadError(Problem(msg("load.key_not_text"), file=source.file, line=line,
                                        column=col, path=path))
            key = key_node.value
            _check_text(key, key_node, source, path)
            if key == "<<" and not key_node.style:
                line, col = _mark(key_node)
                raise LoadError(Problem(msg("load.merge_key"), file=source.file, line=line,
                                        column=col, path=path, suggestion=msg("load.merge_key.hint")))
            child = path + (key,)
            if key in out:
                line, col = _mark(key_node)
                first = source.keys.get(child, (None, None))[0]
                raise LoadError(Problem(
                    msg("load.duplicate_key", key=key, line=first), file=source.file, line=line,
                    column=col, path=child, suggestion=msg("load.duplicate_key.hint")))
            source.keys[child] = _mark(key_node)
            out[key] = _construct(value_node, child, source, depth + 1)
        return out
    if isinstance(node, SequenceNode):
        return [_construct(v, path + (i,), source, depth + 1) for i, v in enumerate(node.value)]
    assert isinstance(node, ScalarNode)  # the composer makes mapping, sequence and scalar nodes only
    value = _scalar(node)
    if isinstance(value, str):
        _check_text(value, node, source, path)
    if isinstance(value, Decimal) and out_of_range(value):
        line, col = _mark(node)
        raise LoadError(Problem(msg("load.number_range", value=node.value), file=source.file, line=line, column=col,
                                path=path, suggestion=msg("load.number_range.hint")))
    return value


def _scalar(node: ScalarNode) -> str | Decimal | bool | None:
    value: str = node.value
    if node.style == ">":  # folded: a line break between two Chinese characters is no space in Chinese
        return _cjk_fold().sub("", value)
    if node.style:  # quoted or block scalar: always text (plain is None in PyYAML, "" in LibYAML)
        return value
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if _HAS_DIGIT.search(value) and _NUMBER.fullmatch(value) and not value.startswith(("_",)):
        return Decimal(value.replace("_", ""))
    return value

