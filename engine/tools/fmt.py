"""`policy fmt`: one canonical layout for policy, tests and facts files, comments and the author's text kept."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping, Sequence

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from engine.core.errors import LoadError, PolicyError, Problem
from engine.core.files import replace_when_done
from engine.core.messages import msg
from engine.syntax.loader import load_text, read_text
from engine.syntax.schema import load_schema

# The layout: mappings indented by 2, a sequence's dash indented by 2 under its key, `null` written out, a flow
# collection ({…} or […]) kept on its line unless that line would be wider than WIDTH columns (a Chinese
# character is two), when it becomes a block. Long text is never folded: the author's line is the line.
WIDTH = 120
# A facts file: who, what kind, where, when, then the facts and what was granted before (as facts files are
# described in the README); a fact's own keys keep the author's order.
FACTS_FILE_ORDER = ("applicant", "recipient", "area", "date", "facts", "granted")
_COMMENT = re.compile(r"^(\s*)#")


@dataclass(frozen=True)
class Formatted:
    """A file's text as it is and as fmt would write it."""

    path: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def kind_of(path: str, data: object) -> str:
    """'tests', 'policy' or 'facts': by the file's name (NAME.tests.yaml) or what it declares."""
    name = Path(path).name
    if name.endswith((".tests.yaml", ".tests.yml")):
        return "tests"
    if isinstance(data, dict) and ("clauses" in data or "extends" in data or "document" in data):
        return "policy"
    return "facts"


def format_text(text: str, name: str = "<input>") -> str:
    """The canonical text of one policy, tests or facts file. Raises LoadError where the file is not strict YAML
    (it is then left as it is), and PolicyError should the layout ever read differently from the original."""
    original = load_text(text, name).data
    order = _Order(kind_of(name, original))
    reordered = _reorder(_dash_comments_apart(text, name, original), order)
    laid_out = _lay_out(reordered)
    try:
        again = load_text(laid_out, name).data
    except PolicyError:
        again = _DIFFERENT
    if _plain(again) != _plain(original) or sorted(_comments(laid_out)) != sorted(_comments(text)):
        # A safeguard, never expected: a file fmt cannot lay out without changing what it says is left alone.
        raise PolicyError([Problem(msg("fmt.would_change_meaning"), file=name,
                                   suggestion=msg("fmt.would_change_meaning.hint"))])
    return laid_out


# A comment right after a list item's dash, its mapping starting on the next line (`- # 说明`). ruamel.yaml keeps it
# with the item before, so reordering that item's keys carried the next key into this item.
_DASH_COMMENT = re.compile(r"^(?P<indent> *)- +(?P<comment>#[^\n]*)\n(?P=indent)  (?=[^ \n#-])", re.MULTILINE)


def _dash_comments_apart(text: str, name: str, original: object) -> str:
    """`text` with each comment right after a list item's dash on its own line above the item (where fmt lays it
    out anyway); the text as it is where that would read differently (the lines were inside a block of text)."""
    moved = _DASH_COMMENT.sub(lambda m: f"{m['indent']}  {m['comment']}\n{m['indent']}- ", text)
    if moved == text:
        return text
    try:
        same = _plain(load_text(moved, name).data) == _plain(original)
    except PolicyError:
        same = False
    return moved if same else text


def format_file(path: str) -> Formatted:
    name, text = read_text(path)
    return Formatted(path, text, format_text(text, name))


def write(formatted: Formatted) -> None:
    """Replace the file with its formatted text, whole or not at all."""
    with replace_when_done(formatted.path, "w", newline="") as handle:
        handle.write(formatted.after)


# ---------------------------------------------------------------- meaning and comments, compared

_DIFFERENT = object()


def _plain(value: object) -> object:
    """The document as data, with each number's digits as written: 1.50 and 1.5 differ here on purpose."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return ("number", str(value))
    return (type(value).__name__, value)


def _comments(text: str) -> list[str]:
    """Every comment's text (compared as a multiset: an entry's comments move with it), which fmt keeps. A `#`
    inside a quoted string may be counted too; it is counted the same before and after."""
    found = []
    for line in text.splitlines():
        at = line.find("#")
        while at >= 0:
            if at == 0 or line[at - 1] in " \t":
                found.append(line[at:].rstrip())
                break
            at = line.find("#", at + 1)
    return found


# ---------------------------------------------------------------- key order, by the schemas

class _Order:
    """Where a mapping's keys belong: the order its schema lists them in (policy.schema.json for a policy,
    tests.schema.json for its cases, FACTS_FILE_ORDER for an applicant's facts)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.schemas = {"policy": load_schema("policy.schema.json"), "tests": load_schema("tests.schema.json")}

    def root(self) -> Mapping[str, Any] | None:
        if self.kind == "facts":
            return _FACTS_FILE
        return self.schemas[self.kind]

    def resolve(self, schema: Mapping[str, Any] | None, root: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
        """The object schemas `schema` may be (through $ref, allOf, anyOf, oneOf, if/then/else)."""
        if not isinstance(schema, Mapping):
            return []
        found: list[Mapping[str, Any]] = [schema]
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and root is not None:
            found += self.resolve(root.get("$defs", {}).get(ref.removeprefix("#/$defs/")), root)
        for word in ("allOf", "anyOf", "oneOf"):
            for branch in schema.get(word, []):
                found += self.resolve(branch, root)
        for word in ("then", "else"):
            found += self.resolve(schema.get(word), root)
        return found

    def keys(self, schema: Mapping[str, Any] | None, root: Mapping[str, Any] | None) -> tuple[list[str], bool]:
        """The named keys in order, and whether the mapping also takes keys of its own (clause ids in a case's
        expect:): those come first, in the author's order, and the named ones (total, complete) after them."""
        order: dict[str, None] = {}
        open_ = False
        for each in self.resolve(schema, root):
            order.update(dict.fromkeys(each.get("properties", {})))
            open_ = open_ or bool(each.get("patternProperties")) or isinstance(each.get("additionalProperties"),
                                                                              Mapping)
        return list(order), open_

    def child(self, schema: Mapping[str, Any] | None, root: Mapping[str, Any] | None,
              key: str | int) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
        """The schema of a mapping's value at `key` or a list's item, and the root its $refs resolve in."""
        if root is _FACTS_FILE and key == "facts":
            return None, None  # an applicant's facts: the author's order
        for each in self.resolve(schema, root):
            if isinstance(key, int):
                if isinstance(each.get("items"), Mapping):
                    return each["items"], root
                continue
            properties = each.get("properties", {})
            if key in properties:
                if self.kind == "tests" and key == "facts" and root is self.schemas["tests"]:
                    return _FACTS_FILE, _FACTS_FILE  # a case's facts are a facts file
                return properties[key], root
            for pattern, sub in each.get("patternProperties", {}).items():
                if re.search(pattern, key):
                    return sub, root
            if isinstance(each.get("additionalProperties"), Mapping):
                return each["additionalProperties"], root
        return None, root


_FACTS_FILE: Mapping[str, Any] = {"properties": dict.fromkeys(FACTS_FILE_ORDER, {})}


def _rank(key: str, keys: Sequence[str], open_: bool) -> int:
    if key in keys:
        return keys.index(key) + (1 if open_ else 0)
    return 0 if open_ else len(keys)


def _reorder(text: str, order: _Order) -> str:
    """The text with each block mapping's entries in their schema's order; every entry moves with the comment
    lines directly above it (at its own indentation), and the blank lines between entries stay where they were."""
    yaml = YAML(typ="rt")
    tree = yaml.load(text)
    lines = text.splitlines(keepends=True)
    _visit(tree, order.root(), order.root(), order, lines, 0, len(lines))
    return "".join(lines)


def _is_comment_at(line: str, column: int) -> bool:
    found = _COMMENT.match(line)
    return found is not None and len(found.group(1)) <= column


def _leading(lines: list[str], key_line: int, column: int, floor: int) -> int:
    """The first line of an entry: its key's line, or the comment lines directly above it at its indentation."""
    start = key_line
    at = key_line - 1
    while at >= floor and (not lines[at].strip() or _is_comment_at(lines[at], column)):
        at -= 1
        if lines[at + 1].strip():
            start = at + 1
    return start


def _visit(node: object, schema: Mapping[str, Any] | None, root: Mapping[str, Any] | None, order: _Order,
           lines: list[str], floor: int, end: int) -> None:
    if isinstance(node, CommentedSeq):
        items = list(node)
        starts = [node.lc.item(i)[0] for i in range(len(items))]
        for i, item in enumerate(items):
            sub, sub_root = order.child(schema, root, i)
            next_start = _leading(lines, starts[i + 1], node.lc.item(i + 1)[1], starts[i]) if i + 1 < len(items) \
                else end
            _visit(item, sub, sub_root, order, lines, starts[i], next_start)
        return
    if not isinstance(node, CommentedMap) or not node:
        return
    keys = list(node)
    positions = [node.lc.key(k) for k in keys]
    starts = [positions[0][0]] + [_leading(lines, positions[i][0], positions[i][1], positions[i - 1][0] + 1)
                                  for i in range(1, len(keys))]
    bounds = [*starts[1:], end]
    for i, key in enumerate(keys):
        sub, sub_root = order.child(schema, root, str(key))
        _visit(node[key], sub, sub_root, order, lines, positions[i][0], bounds[i])
    wanted, open_ = order.keys(schema, root)
    if not wanted or node.fa.flow_style() or len({p[0] for p in positions}) < len(keys):
        return
    ranked = sorted(range(len(keys)), key=lambda i: _rank(str(keys[i]), wanted, open_))
    if ranked == list(range(len(keys))):
        return
    column = positions[0][1]
    first = lines[starts[0]]
    dash = first[:column]
    after_dash = column >= 2 and dash.strip() != "" and first[column - 2:column] == "- "
    if dash.strip() and not after_dash:
        return  # a layout this pass does not know: left in the author's order
    blocks: list[list[str]] = []
    gaps: list[list[str]] = []
    for i in range(len(keys)):
        block = lines[starts[i]:bounds[i]]
        gap: list[str] = []
        while block and (not block[-1].strip() or (i == len(keys) - 1 and _is_comment_at(block[-1], column)
                                                   and len(block) > 1)):
            gap.insert(0, block.pop())
        blocks.append(block)
        gaps.append(gap)
    if after_dash:  # "- key: …": the dash goes with whichever entry comes first
        blocks[0][0] = " " * column + first[column:]
    moved: list[str] = []
    for place, i in enumerate(ranked):
        block = list(blocks[i])
        if after_dash and place == 0:
            key_at = next(n for n, line in enumerate(block) if not _is_comment_at(line, column))
            block = [*block[:key_at], dash[:column - 2] + "- " + block[key_at][column:], *block[key_at + 1:]]
        moved += block + gaps[place]
    # At once, so that a mapping holding this one moves it as it now reads (the count of lines is the same).
    lines[starts[0]:bounds[-1]] = moved


# ---------------------------------------------------------------- layout, by ruamel.yaml's round trip

def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 20  # never fold the author's lines
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.brace_single_entry_mapping_in_flow_sequence = True  # [{name: B}], never [name: B]
    yaml.allow_unicode = True
    yaml.representer.add_representer(
        type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null", "null"))
    return yaml


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _one_line(yaml: YAML, node: object) -> str:
    out = io.StringIO()
    yaml.dump(node, out)
    return out.getvalue().strip()


def _unfold(yaml: YAML, node: object, column: int, lead: int) -> None:
    """Flow collections too wide for their line become blocks (their own flow items are then measured again)."""
    if not isinstance(node, (CommentedMap, CommentedSeq)):
        return
    if node.fa.flow_style() and (not node or column + lead + _width(_one_line(yaml, node)) <= WIDTH):
        return
    if node.fa.flow_style():
        node.fa.set_block_style()
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            inner = 4 if isinstance(value, CommentedSeq) and not value.fa.flow_style() else 2
            nested = isinstance(value, (CommentedMap, CommentedSeq)) and not value.fa.flow_style()
            _unfold(yaml, value, column + inner if nested else column, 0 if nested else _width(str(key)) + 2)
    else:
        for item in node:
            _unfold(yaml, item, column + 2, 0)


def _lay_out(text: str) -> str:
    """The layout pass, repeated until it changes nothing: a collection made a block moves its items to where
    they are measured again, so one pass can leave a flow list that the next would unfold (fmt(fmt(x)) must be
    fmt(x)). Each pass only turns flow into block, so this ends, in a few passes at most."""
    for _ in range(8):
        laid = _lay_out_once(text)
        if laid == text:
            break
        text = laid
    return text


def _lay_out_once(text: str) -> str:
    yaml = _yaml()
    tree = yaml.load(text)
    _unfold(yaml, tree, 0, 0)
    out = io.StringIO()
    yaml.dump(tree, out)
    laid = "\n".join(line.rstrip() for line in out.getvalue().splitlines())
    return laid.strip("\n") + "\n"


def format_paths(paths: Sequence[str]) -> list[Formatted | PolicyError]:
    """Each file formatted, or the error that leaves it as it is."""
    done: list[Formatted | PolicyError] = []
    for path in paths:
        try:
            done.append(format_file(path))
        except (LoadError, PolicyError) as error:
            done.append(error)
    return done
