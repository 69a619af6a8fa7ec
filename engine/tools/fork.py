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
from engine.syntax.inherit import KEYED
from engine.syntax.loader import Loaded, Path_, SourceMap
from engine.syntax.schema import Document
from engine.workspace import Library, LookupFailed


def officer_amount(value: Decimal, kind: str) -> str:
    """A value as an officer writes it in a policy file: 50%, 10万元, 2亿元, 5."""
    return as_written(value, kind, digits=True)


def _current(param: Parameter, on: dt.date) -> DatedValue | None:
    return param.value_on(on) or (param.values[-1] if param.values else None)


def _q(text: str) -> str:
    """A YAML scalar, quoted only when it must be."""
    dumped = yaml.safe_dump(text, allow_unicode=True, default_flow_style=True, width=10_000).strip()
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
    area_text = "、".join(areas)
    lines = [
        f"# yaml-language-server: $schema={schema_ref}",
        *t("fork.head", lang, areas=area_text, document=parent.document, title=parent.title,
           parent_file=parent_file).split("\n"),
        "",
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


# --- show --resolved ------------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    pass


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:float" if value != value.to_integral_value()
                                   else "tag:yaml.org,2002:int", plain(value))


_Dumper.add_representer(Decimal, _decimal)


def _dump(value: object, indent: int) -> list[str]:
    text = yaml.dump(value, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100,
                     default_flow_style=False)
    pad = " " * indent
    return [pad + line for line in text.rstrip("\n").split("\n")]


def _files_under(source: SourceMap, path: Path_) -> list[str]:
    n = len(path)
    files = {source.file_of(p) for p in list(source.values) + list(source.keys) if p[:n] == path}
    return sorted(files)


def _from(source: SourceMap, path: Path_, shorten: Callable[[str], str]) -> str:
    own = source.file_of(path)
    others = [f for f in _files_under(source, path) if f != own]
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
    for key, value in doc.items():
        if key in KEYED and isinstance(value, dict) and value:
            out.append(f"{key}:" + _from(source, (key,), shorten).split(" (parts")[0])
            for name, spec in value.items():
                lines = _dump({name: spec}, 2)
                lines[0] += _from(source, (key, name), shorten)
                out.extend(lines)
        elif key in ("clauses", "groups") and isinstance(value, list):
            out.append(f"{key}:")
            for i, entry in enumerate(value):
                lines = _dump([entry], 2)
                lines[0] += _from(source, (key, i), shorten)
                out.extend(lines)
        else:
            lines = _dump({key: value}, 0)
            lines[0] += _from(source, (key,), shorten)
            out.extend(lines)
        out.append("")
    return "\n".join(out)
