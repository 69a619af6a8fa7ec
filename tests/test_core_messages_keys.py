"""Message keys are checked by reading the code: a misspelt key fails here, not in front of an officer.

Every call that looks a key up in the catalogue (t, msg, and any function that passes one of its own
parameters on as the key, such as errors.py's `word` or lint's `self.add`) must name the key as a string
literal, or pick it from an explicit module-level mapping of literal keys ({"once": "period.once", ...}).
A key put together at run time (f"period.{p}", "reason." + r, a loop variable) is forbidden: no test can
see which keys it may produce.

What the scan recognises as a lookup: t and msg imported from engine.core.messages; a function or named
lambda that passes a parameter on as a key (called by its name in its module, or imported by name); a
method that does (called as self.name(...), and, for a method named t or msg, on any object:
words.t(...)). Jinja templates (*.j2) are read for their literal t("...") keys only.
"""

from __future__ import annotations

import ast
import re
import string
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from engine.core.messages import CATALOGUE, LANGS, texts

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = "engine.core.messages"
SOURCES = sorted((ROOT / "engine").rglob("*.py")) + [ROOT / "cli.py", ROOT / "cli_commands.py"]
# Jinja templates call t(...) too; their literal keys are checked, and the keys they name count as used.
TEMPLATES = sorted((ROOT / "engine").rglob("*.j2"))
_TEMPLATE_KEY = re.compile(r"""\bt\(\s*["']([^"']+)["']\s*[,)]""")
_TEMPLATE_STRING = re.compile(r"""["']([\w.]+)["']\s*(~)?""")

# Dynamic keys in files being rewritten by their owners, tolerated until they are fixed there:
# (file, the line as written, stripped). Fix the line (a literal key, or a mapping of literal keys such
# as messages.OUTCOME_KEYS) and remove its entry; an entry whose line is gone is reported as a warning.
PENDING: set[tuple[str, str]] = set()  # dynamic keys tolerated while their owners rewrite a file: none now


# --- reading the code ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lookup:
    """A function that takes catalogue keys: where they go, and which message values reach the text."""

    slots: tuple[tuple[int | None, str | None], ...]  # (position, keyword) of each key argument
    adds: frozenset[str] | None = frozenset()  # values it fills itself; None: the caller's do not all arrive


BASE = {"t": Lookup(((0, None),)), "msg": Lookup(((0, None),))}


@dataclass
class Module:
    name: str
    rel: str
    tree: ast.Module
    lines: list[str]
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)  # local name -> (module, name)
    mappings: dict[str, list[str]] = field(default_factory=dict)  # NAME = {...: "literal.key"}: its values
    functions: dict[str, Lookup] = field(default_factory=dict)  # wrappers called as name(...)
    methods: dict[str, Lookup] = field(default_factory=dict)  # wrappers called as self.name(...)


@dataclass(frozen=True)
class Site:
    rel: str
    line: int
    key: str
    given: frozenset[str] | None  # the values passed, None when not all are visible (**values)


@dataclass(frozen=True)
class Dynamic:
    rel: str
    line: int
    text: str
    prefix: str  # the literal start of the key, if any: keys under it count as used while PENDING


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _defined(module: str, name: str) -> tuple[str, str]:
    """Where a name imported from `module` is defined: a name of the public API (engine/__init__.py) is followed
    to its module, so that `from engine import t` is the catalogue's `t`."""
    if module == "engine":
        import engine

        where = engine._WHERE.get(name)
        if where is not None:
            found, _, attr = where.partition(":")
            return found, attr or name
    return module, name


def _read(path: Path) -> Module:
    text = path.read_text(encoding="utf-8")
    module = Module(_module_name(path), path.relative_to(ROOT).as_posix(), ast.parse(text), text.splitlines())
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                module.imports[alias.asname or alias.name] = _defined(node.module, alias.name)
    for node in module.tree.body:
        target, value = (node.targets[0], node.value) if isinstance(node, ast.Assign) and len(node.targets) == 1 \
            else (node.target, node.value) if isinstance(node, ast.AnnAssign) else (None, None)
        if isinstance(target, ast.Name) and isinstance(value, ast.Dict) and value.values and all(
                isinstance(v, ast.Constant) and isinstance(v.value, str) for v in value.values):
            module.mappings[target.id] = [v.value for v in value.values]  # type: ignore[union-attr]
    return module


@dataclass
class Code:
    modules: dict[str, Module]
    forwards: dict[int, set[str]] = field(default_factory=dict)  # id(wrapper node) -> its key parameters

    def lookup(self, module: Module, call: ast.Call) -> Lookup | None:
        f = call.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "self":
            # the module's own method, or one inherited from a class of the same package (lint's families
            # call LinterBase.add, in engine/tools/lint/base.py)
            package = module.name.rpartition(".")[0]
            return module.methods.get(f.attr) or next(
                (m.methods[f.attr] for m in self.modules.values()
                 if m.name.rpartition(".")[0] == package and f.attr in m.methods), None)
        if isinstance(f, ast.Attribute) and f.attr in BASE:  # words.t(...): a method named like a lookup is one
            return next((m.methods[f.attr] for m in self.modules.values() if f.attr in m.methods), None)
        if not isinstance(f, ast.Name):
            return None
        if f.id in module.functions:
            return module.functions[f.id]
        origin, name = module.imports.get(f.id, ("", ""))
        if origin == MESSAGES:
            return BASE.get(name)
        return self.modules[origin].functions.get(name) if origin in self.modules else None

    def mapping(self, module: Module, node: ast.expr) -> list[str] | None:
        if not isinstance(node, ast.Name):
            return None
        if node.id in module.mappings:
            return module.mappings[node.id]
        origin, name = module.imports.get(node.id, ("", ""))
        return self.modules[origin].mappings.get(name) if origin in self.modules else None


def _argument(call: ast.Call, slot: tuple[int | None, str | None]) -> ast.expr | None:
    position, keyword = slot
    if position is not None and position < len(call.args) and not any(
            isinstance(a, ast.Starred) for a in call.args[:position + 1]):
        return call.args[position]
    return next((k.value for k in call.keywords if keyword and k.arg == keyword), None)


def _given(call: ast.Call, lookup: Lookup) -> frozenset[str] | None:
    if lookup.adds is None or any(k.arg is None for k in call.keywords):
        return None
    return lookup.adds | {k.arg for k in call.keywords if k.arg}


def _functions(node: ast.AST, in_class: bool = False):
    """(function node, its name, whether it is a method) for every def and named lambda under `node`."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield child, child.name, in_class
        elif isinstance(child, ast.Assign) and isinstance(child.value, ast.Lambda) and len(child.targets) == 1 \
                and isinstance(child.targets[0], ast.Name):
            yield child.value, child.targets[0].id, False
        yield from _functions(child, isinstance(child, ast.ClassDef))


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, method: bool) -> dict[str, int | None]:
    """Parameter name -> position (None: keyword only), `self` left out of a method's positions."""
    positional = fn.args.posonlyargs + fn.args.args
    if method and positional:
        positional = positional[1:]
    out: dict[str, int | None] = {a.arg: i for i, a in enumerate(positional)}
    out.update({a.arg: None for a in fn.args.kwonlyargs})
    return out


@cache
def code() -> Code:
    modules = {m.name: m for m in map(_read, SOURCES)}
    result = Code(modules)
    changed = True
    while changed:  # a wrapper of a wrapper is a wrapper too
        changed = False
        for module in modules.values():
            if module.name == MESSAGES:
                continue
            for fn, name, method in _functions(module.tree):
                params = _params(fn, method)
                kwargs = fn.args.kwarg.arg if fn.args.kwarg else None
                slots, adds = [], frozenset[str]()
                for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
                    inner = result.lookup(module, call)
                    if inner is None:
                        continue
                    for slot in inner.slots:
                        arg = _argument(call, slot)
                        if isinstance(arg, ast.Name) and arg.id in params:
                            slots.append((params[arg.id], arg.id))
                            result.forwards.setdefault(id(fn), set()).add(arg.id)
                            forwarded = kwargs and any(k.arg is None and isinstance(k.value, ast.Name)
                                                       and k.value.id == kwargs for k in call.keywords)
                            extra = _given(ast.Call(call.func, call.args, [k for k in call.keywords if k.arg]), inner)
                            adds = None if not forwarded or extra is None or adds is None else adds | extra
                table = module.methods if method else module.functions
                if slots and table.get(name) != (found := Lookup(tuple(dict.fromkeys(slots)), adds)):
                    table[name] = found
                    changed = True
    return result


def _keys(node: ast.expr, module: Module, forwarding: set[str]) -> list[str] | None:
    """The keys a key argument can be; None when it is built at run time."""
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str)):
        return [] if node.value is None else [node.value]
    if isinstance(node, ast.Name) and node.id in forwarding:
        return []  # a wrapper passing on its own key parameter: its callers are checked
    if isinstance(node, ast.Subscript) and (table := code().mapping(module, node.value)) is not None:
        return table
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
            and (table := code().mapping(module, node.func.value)) is not None and len(node.args) in (1, 2):
        default = _keys(node.args[1], module, forwarding) if len(node.args) == 2 else []
        return None if default is None else table + default
    if isinstance(node, ast.IfExp):
        body, orelse = _keys(node.body, module, forwarding), _keys(node.orelse, module, forwarding)
        return None if body is None or orelse is None else body + orelse
    return None


def _prefix(node: ast.expr) -> str:
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)
    if isinstance(node, ast.BinOp) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
        return node.left.value
    return ""


@cache
def scan() -> tuple[tuple[Site, ...], tuple[Dynamic, ...]]:
    """Every key looked up in the code, and every lookup whose key is built at run time."""
    sites: list[Site] = []
    dynamic: list[Dynamic] = []
    modules = code().modules

    def dyn(module: Module, node: ast.expr) -> None:
        dynamic.append(Dynamic(module.rel, node.lineno, module.lines[node.lineno - 1].strip(), _prefix(node)))

    def visit(module: Module, node: ast.AST, forwarding: set[str]) -> None:
        forwarding = forwarding | code().forwards.get(id(node), set())
        if isinstance(node, ast.Call) and (lookup := code().lookup(module, node)) is not None:
            for slot in lookup.slots:
                arg = _argument(node, slot)
                if arg is None:
                    continue
                keys = _keys(arg, module, forwarding)
                if keys is None:
                    dyn(module, arg)
                sites.extend(Site(module.rel, arg.lineno, k, _given(node, lookup)) for k in keys or ())
        elif isinstance(node, ast.Name) and module.imports.get(node.id, ("", ""))[0] == MESSAGES \
                and module.imports[node.id][1] in ("CATALOGUE", "texts"):
            dyn(module, node)  # the catalogue's data read directly: which keys, no one can tell
        for child in ast.iter_child_nodes(node):
            visit(module, child, forwarding)

    for module in modules.values():
        if module.name != MESSAGES:
            visit(module, module.tree, set())
    return tuple(sites), tuple(dynamic)


def _placeholders(text: str) -> set[str]:
    return {f.split(".")[0].split("[")[0] for _l, f, _s, _c in string.Formatter().parse(text) if f is not None}


# --- the tests ----------------------------------------------------------------------------------------

def test_the_scan_sees_the_code():
    sites, _dynamic = scan()
    files = {s.rel for s in sites}
    assert len(sites) > 500 and {"cli.py", "engine/core/errors.py", "engine/tools/lint/numbers.py"} <= files
    assert ("engine/tools/lint/numbers.py", "lint.expires") in {(s.rel, s.key) for s in sites}  # through self.add


def _template_sites() -> list[Site]:
    out = []
    for path in TEMPLATES:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            out += [Site(path.relative_to(ROOT).as_posix(), n, key, None) for key in _TEMPLATE_KEY.findall(line)]
    return out


def test_every_key_looked_up_exists_in_every_language():
    missing = sorted({f"{s.rel}:{s.line}: {s.key!r} is not in {lang}.json"
                      for s in scan()[0] + tuple(_template_sites()) for lang in LANGS if s.key not in texts(lang)})
    assert not missing, "\n".join(missing)


def test_every_key_looked_up_has_the_same_placeholders_in_every_language():
    bad = sorted({f"{s.key}: " + ", ".join(f"{lang} {sorted(_placeholders(texts(lang)[s.key]))}" for lang in LANGS)
                  for s in scan()[0] if all(s.key in texts(lang) for lang in LANGS)
                  and len({frozenset(_placeholders(texts(lang)[s.key])) for lang in LANGS}) > 1})
    assert not bad, "\n".join(bad)


def test_every_lookup_fills_the_placeholders_of_its_text():
    bad = sorted({f"{s.rel}:{s.line}: {s.key} needs {sorted(need - s.given)}" for s in scan()[0]
                  if s.given is not None and s.key in texts("en")
                  and (need := _placeholders(texts("en")[s.key])) - s.given})
    assert not bad, "\n".join(bad)


def test_no_key_is_built_at_run_time():
    found = sorted({(d.rel, d.text) for d in scan()[1]} - PENDING)
    assert not found, "keys must be literals or come from a mapping of literals:\n" + "\n".join(
        f"{rel}: {text}" for rel, text in found)


def test_pending_dynamic_keys_are_still_there():
    stale = PENDING - {(d.rel, d.text) for d in scan()[1]}
    if stale:  # a warning, not a failure: the files are being rewritten, and a fixed line is good news
        warnings.warn("PENDING lines fixed or moved, remove them from tests/test_core_messages_keys.py:\n"
                      + "\n".join(f"{r}: {t}" for r, t in sorted(stale)), stacklevel=1)


def _used() -> set[str]:
    """Keys the code can look up: literals and mapping values at lookups, any string constant of the code
    that is a key (keys passed around as data), and everything under the prefix of a PENDING lookup."""
    sites, dynamic = scan()
    used = {s.key for s in sites}
    for module in code().modules.values():
        used |= {n.value for n in ast.walk(module.tree) if isinstance(n, ast.Constant) and n.value in CATALOGUE}
    prefixes = tuple(d.prefix for d in dynamic if d.prefix and (d.rel, d.text) in PENDING)
    for path in TEMPLATES:
        for text, joined in _TEMPLATE_STRING.findall(path.read_text(encoding="utf-8")):
            used |= {text} if not joined else {k for k in CATALOGUE if k.startswith(text)}
    return used | {k for k in CATALOGUE if prefixes and k.startswith(prefixes)}


def test_every_key_in_the_catalogue_is_used():
    unused = sorted(set(CATALOGUE) - _used())
    assert not unused, "not looked up anywhere: use or delete\n" + "\n".join(unused)


@pytest.mark.parametrize("lang", LANGS)
def test_each_language_has_the_same_keys(lang):
    assert set(texts(lang)) == set(CATALOGUE)
