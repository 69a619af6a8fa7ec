"""Authoring tools for inheritance: a new county file that extends a parent, and the resolved policy as YAML."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from typing import Callable, Sequence, cast

import yaml

from engine.core.amounts import plain
from engine.core.format import as_written
from engine.core.messages import t
from engine.model.policy import DatedValue, Parameter, Policy
from engine.syntax import versions
from engine.syntax.inherit import KEYED
from engine.syntax.loader import Loaded, Path_, SourceMap
from engine.syntax.loader import _scalar as plain_reading  # how the engine reads a plain (unquoted) scalar
from engine.syntax.schema import Document
from engine.workspace import Library, LookupFailed


def officer_amount(value: Decimal, kind: str) -> str:
    """A value as an officer writes it in a policy file: 50%, 10万元, 2亿元, 5."""
    return as_written(value, kind, digits=True)


def _current(param: Parameter, on: dt.date) -> DatedValue | None:
    return param.value_on(on) or (param.values[-1] if param.values else None)


def _q(text: str) -> str:
    """A YAML scalar, quoted only when it must be (for the engine's loader, not only for YAML 1.1: 1e5 is quoted)."""
    dumped = yaml.dump(text, Dumper=_Dumper, allow_unicode=True, default_flow_style=True, width=10_000).strip()
    return dumped.removesuffix("\n...").removesuffix("...").strip()


def extends_value(parent_file: str, parent: Policy, out_file: str, library: Library) -> str:
    """The parent's id when a lookup from `out_file` finds this very parent by id; else a relative path."""
    try:
        found = library.find_id(parent.id, near=out_file)
    except LookupFailed:
        found = None  # not found from there by id (or ambiguous): the county file names its parent by path
    if found is not None and os.path.realpath(found) == os.path.realpath(parent_file):
        return parent.id
    return os.path.relpath(os.path.abspath(parent_file), os.path.dirname(os.path.abspath(out_file)))


def fork_text(parent: Policy, parent_file: str, new_id: str, areas: Sequence[str], extends: str,
              document: str | None = None, title: str | None = None, today: dt.date | None = None,
              schema_ref: str = "policy.schema.json", lang: str = "zh") -> str:
    """A county file that extends `parent`, listing the parent's parameters as commented examples."""
    today = today or dt.date.today()
    problem = area_problem(areas, lang)
    if problem is not None:
        raise ValueError(problem)  # the command line checks first (fork_cmd); this guards other callers
    area_text = "、".join(areas)
    lines = [
        f"# yaml-language-server: $schema={schema_ref}",
        *t("fork.head", lang, areas=area_text, document=parent.document, title=parent.title,
           parent_file=parent_file).split("\n"),
        "",
        f"{versions.KEY}: {versions.CURRENT}",  # the county's words are read in today's language
        f"id: {_q(new_id)}",
        f"extends: {_q(extends)}",
        f"document: {_q(document or f'{area_text}参照执行{parent.document}')}"
        + ("" if document else f"   # {t('fork.document_placeholder', lang)}"),
        f"title: {_q(title or f'{parent.title}（{area_text}参照执行）')}",
        "",
        "jurisdiction:",
        f"  areas: [{', '.join(_q(a) for a in areas)}]",
        "",
        f"# {t('fork.in_force', lang)}",
        "# in_force:",
        f"#   from: {parent.start.isoformat()}",
    ]
    if parent.end:
        lines.append(f"#   until: {parent.end.isoformat()}")
    lines += ["", *(f"# {line}" for line in t("fork.parameters", lang, day=today.isoformat()).split("\n")),
              "# parameters:"]
    source_placeholder = document or t("fork.source_placeholder", lang)
    for name, param in parent.parameters.items():
        value = _current(param, today)
        shown = officer_amount(value.value, param.type) if value else "?"
        source = f"  ({value.source})" if value and value.source else ""
        unit = f" {param.unit}" if param.unit else ""
        lines.append(f"#   {name}:   # {param.label}: {shown}{unit}{source}")
        lines.append("#     values:")
        lines.append(f"#       - from: {(value.start if value else parent.start).isoformat()}")
        lines.append(f"#         value: {shown}")
        lines.append(f"#         source: {source_placeholder} …")
    return "\n".join(lines) + "\n"


def area_problem(areas: Sequence[str], lang: str) -> str | None:
    """What is wrong with the areas given for a county file, as the schema will want them: none blank, none
    twice. The command line reports it as a usage error naming --jurisdiction; None when they are fine."""
    for i, area in enumerate(areas):
        if not area.strip():
            return t("fork.empty_area", lang)
        if area in areas[:i]:
            return t("fork.repeated_area", lang, area=area)
    return None


# --- show --resolved ------------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    """YAML the engine reads back as it was: text it would read as something else when plain is quoted."""


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:float" if value != value.to_integral_value()
                                   else "tag:yaml.org,2002:int", plain(value))


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML quotes what YAML 1.1 reads as a number, a date or yes/no; the engine also reads 1e5, 1_000 and .5 as
    # numbers, so text that it would read as anything but itself is quoted too.
    node = dumper.represent_str(value)
    str_tag = "tag:yaml.org,2002:str"
    yaml_reads: str = dumper.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    if yaml_reads == str_tag and plain_reading(yaml.ScalarNode(str_tag, value)) != value:
        node.style = "'"  # as PyYAML quotes what it reads as a number itself
    return node


_Dumper.add_representer(Decimal, _decimal)
_Dumper.add_representer(str, _str)


def _dump(value: object, indent: int) -> list[str]:
    text = yaml.dump(value, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100,
                     default_flow_style=False)
    pad = " " * indent
    return [pad + line for line in text.rstrip("\n").split("\n")]


def _files_under(source: SourceMap) -> dict[Path_, set[str]]:
    """Per path of one or two steps (a top-level entry, a parameter, a clause), the files of everything under it."""
    out: dict[Path_, set[str]] = {}
    for p in list(source.values) + list(source.keys):
        file = source.file_of(p)
        for n in (1, 2):
            if len(p) >= n:
                out.setdefault(p[:n], set()).add(file)
    return out


def _from(source: SourceMap, path: Path_, shorten: Callable[[str], str], under: dict[Path_, set[str]]) -> str:
    own = source.file_of(path)
    others = sorted(under.get(path, set()) - {own})
    text = f"  # from {shorten(own)}"
    if others:
        text += " (parts from " + ", ".join(shorten(f) for f in others) + ")"
    return text


def resolved_yaml(loaded: Loaded) -> str:
    """The effective policy after inheritance, each top-level entry, parameter and clause marked with its file."""
    source, doc = loaded.source, cast(Document, loaded.data)  # a policy that loaded is a mapping
    files = sorted({source.file} | set(source.files.values()))

    def shorten(file: str) -> str:
        return os.path.relpath(file) if os.path.isabs(file) else file

    out = [f"# Effective policy {doc.get('id')} after inheritance; merged from: "
           + ", ".join(shorten(f) for f in files),
           "# Each entry says the file it comes from. This is a view: edit the files, not this text.", ""]
    under = _files_under(source)
    for key, value in doc.items():
        if key in KEYED and isinstance(value, dict) and value:
            out.append(f"{key}:" + _from(source, (key,), shorten, under).split(" (parts")[0])
            for name, spec in value.items():
                out.extend(_marked(_dump({name: spec}, 2), _from(source, (key, name), shorten, under), 2))
        elif key in ("clauses", "groups") and isinstance(value, list):
            out.append(f"{key}:")
            for i, entry in enumerate(value):
                out.extend(_marked(_dump([entry], 2), _from(source, (key, i), shorten, under), 2))
        else:
            out.extend(_marked(_dump({key: value}, 0), _from(source, (key,), shorten, under), 0))
        out.append("")
    return "\n".join(out)


def _marked(lines: list[str], comment: str, indent: int) -> list[str]:
    """An entry's lines with its `# from` comment at the end of the first, or, where the first line begins a
    scalar written over several lines (which a comment would cut short), on a line of its own above it."""
    if len(lines) == 1:
        return [lines[0] + comment]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with_comment = [lines[0] + comment, *lines[1:]]
    try:
        same = yaml.load("\n".join(with_comment), Loader=loader) == yaml.load("\n".join(lines), Loader=loader)
    except yaml.YAMLError:
        same = False
    return with_comment if same else [" " * indent + comment.strip(), *lines]
