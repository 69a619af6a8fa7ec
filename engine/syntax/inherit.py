"""Policy inheritance: merge a file that `extends:` another into one document, keeping each value's source mark."""

from __future__ import annotations

from typing import Iterable, Sequence, TypeVar

from engine.core.errors import InheritError, ProblemList
from engine.core.messages import msg
from engine.core.suggest import did_you_mean
from engine.syntax.loader import Loaded, Path_, SourceMap
from engine.syntax.schema import Document

MAX_CHAIN = 16  # city → county → revision is 3; anything near this is a mistake
# Keys that only make sense in a file that extends another; they are consumed by the merge.
INHERIT_KEYS = ("extends", "add", "remove_clauses", "remove_groups")
# Mappings of named entries. An entry under the key overrides the parent's entry of the same name
# (it must exist); a new entry goes under `add:` (it must not exist), so a typo cannot silently add.
KEYED = ("recipients", "references", "facts", "parameters", "readings")
# Blocks a child takes as a whole: mixing the county's dates or areas with the city's would be a guess.
OWN_REQUIRED = ("id", "document", "title")
_OWN_KEY_HINTS = {"id": "inherit.own_key.id", "document": "inherit.own_key.document", "title": "inherit.own_key.title"}
_T = TypeVar("_T")


def is_path_form(value: str) -> bool:
    """`extends: ../city.yaml` names a file; `extends: lishui-2021-67` names a declared id."""
    return "/" in value or "\\" in value or value.endswith((".yaml", ".yml", ".json"))


def check_child(loaded: Loaded) -> str:
    """A file that extends another, on its own terms: its own id, document and title. Returns what it extends."""
    data = loaded.data
    assert isinstance(data, dict)
    source = loaded.source
    problems = ProblemList()
    for key in OWN_REQUIRED:
        if key not in data:
            problems.add(source.problem(msg("inherit.own_key", key=key), (), prefer_key=True,
                                        suggestion=msg(_OWN_KEY_HINTS[key])))
    problems.raise_if_any(InheritError)
    return str(data["extends"])


def merge(parent: Loaded, child: Loaded) -> Loaded:
    """The child's document laid over its (already merged) parent's, each value keeping its source mark."""
    data = child.data
    assert isinstance(data, dict) and isinstance(parent.data, dict)
    if parent.data.get("id") == data["id"]:
        raise InheritError(child.source.problem(msg("inherit.same_id", id=data["id"]), ("id",),
                                                suggestion=msg("inherit.same_id.hint")))
    return _Merge(parent, child).run()


class _Merge:
    """Builds the merged document and its SourceMap, entry by entry, copying each entry's marks with it.

    Both documents passed the schema check (the child's the partial one) before they are merged.
    """

    def __init__(self, parent: Loaded, child: Loaded):
        assert isinstance(parent.data, dict) and isinstance(child.data, dict)  # as merge() checked
        self.p: Document = parent.data
        self.c: Document = child.data
        self.ps, self.cs = parent.source, child.source
        self.child = child
        self.out = SourceMap(child.source.file, texts={**parent.source.texts, **child.source.texts})
        self.problems = ProblemList()

    # -- marks ---------------------------------------------------------------------------------
    def take(self, dst: Path_, src: SourceMap, src_path: Path_, value: _T) -> _T:
        """Place `value` at `dst`, bringing every source mark under `src_path` (and its file) along."""
        n = len(src_path)
        for table, out in ((src.values, self.out.values), (src.keys, self.out.keys)):
            for p, mark in table.items():
                if p[:n] == src_path:
                    new = dst + p[n:]
                    out[new] = mark
                    file = src.file_of(p)
                    if file != self.out.file:
                        self.out.files[new] = file
                    else:
                        self.out.files.pop(new, None)
        return value

    def key_mark(self, dst: Path_, src: SourceMap, src_path: Path_) -> None:
        """Only the marks of the key and value at `src_path` itself (a container rebuilt entry by entry)."""
        for table, out in ((src.values, self.out.values), (src.keys, self.out.keys)):
            if src_path in table:
                out[dst] = table[src_path]
                file = src.file_of(src_path)
                if file != self.out.file:
                    self.out.files[dst] = file

    def error(self, message: str, path: Path_, suggestion: str | None = None, prefer_key: bool = True) -> None:
        self.problems.add(self.cs.problem(message, path, prefer_key=prefer_key, suggestion=suggestion))

    # -- the merge -----------------------------------------------------------------------------
    def run(self) -> Loaded:
        p, c = self.p, self.c
        add = c.get("add") or {}
        self.out.values[()] = self.cs.values.get((), (1, 1))
        order = list(p) + [k for k in c if k not in p and k not in INHERIT_KEYS]
        order += [k for k in add if k not in order]
        merged: Document = {}
        for key in order:
            if key in KEYED:
                merged[key] = self.keyed(key, add)
            elif key == "clauses":
                merged[key] = self.clauses(add)
            elif key == "groups":
                value = self.groups(add, merged.get("clauses", []))
                if value:
                    merged[key] = value
            elif key == "money" and key in c and key in p:
                merged[key] = self.mapping(key)
            elif key in c:
                merged[key] = self.take((key,), self.cs, (key,), c[key])
            else:
                merged[key] = self.take((key,), self.ps, (key,), p[key])
        self.problems.raise_if_any(InheritError)
        return Loaded(merged, self.out, self.child.text)

    def mapping(self, key: str) -> dict[str, object]:
        """A block merged key by key: the child's keys win, the parent's others stay."""
        self.key_mark((key,), self.cs, (key,))
        out: dict[str, object] = {}
        for k, v in self.p[key].items():
            if k not in self.c[key]:
                out[k] = self.take((key, k), self.ps, (key, k), v)
        for k, v in self.c[key].items():
            out[k] = self.take((key, k), self.cs, (key, k), v)
        return out

    def section_mark(self, key: str) -> None:
        """Where a merged top-level section is said to start: the parent's, else this file's own or its add:."""
        if key in self.p:
            self.key_mark((key,), self.ps, (key,))
        elif key in self.c:
            self.key_mark((key,), self.cs, (key,))
        else:
            self.key_mark((key,), self.cs, ("add", key))

    def keyed(self, key: str, add: Document) -> dict[str, object]:
        parent = self.p.get(key) or {}
        mine = self.c.get(key) or {}
        new = add.get(key) or {}
        self.section_mark(key)
        out: dict[str, object] = {}
        for name, spec in parent.items():
            if name in mine:
                out[name] = self.override(key, name, parent[name], mine[name])
            else:
                out[name] = self.take((key, name), self.ps, (key, name), spec)
        singular = key.rstrip("s")
        for name in mine:
            if name not in parent:
                self.error(msg("inherit.override_unknown", key=key, name=name,
                               singular=msg(_WHAT_KEYS[singular])), (key, name),
                           suggestion=_or_add(did_you_mean(name, parent), key, singular))
        for name, spec in new.items():
            if name in parent:
                self.error(msg("inherit.add_existing", key=key, name=name), ("add", key, name),
                           suggestion=msg("inherit.add_existing.hint", key=key))
                continue
            out[name] = self.take((key, name), self.cs, ("add", key, name), spec)
        return out

    def override(self, key: str, name: str, old: object, new: object) -> object:
        if key != "parameters" or not isinstance(old, dict) or not isinstance(new, dict):
            return self.take((key, name), self.cs, (key, name), new)
        # A parameter override usually changes only the number: label, unit and text stay the parent's;
        # value and values replace each other, as a parameter has exactly one of them.
        self.key_mark((key, name), self.cs, (key, name))
        out: dict[str, object] = {}
        replaced = set(new) | ({"value", "values"} if {"value", "values"} & set(new) else set())
        for k, v in old.items():
            if k not in replaced:
                out[k] = self.take((key, name, k), self.ps, (key, name, k), v)
        for k, v in new.items():
            out[k] = self.take((key, name, k), self.cs, (key, name, k), v)
        return out

    def _ids(self, items: Iterable[object] | None) -> list[object]:
        return [x.get("id") if isinstance(x, dict) else None for x in items or ()]

    def _removals(self, key: str, ids: list[object]) -> set[object]:
        removed: set[object] = set()
        for i, rid in enumerate(self.c.get(key) or ()):
            if rid not in ids:
                self.error(msg(_REMOVE_UNKNOWN_KEYS[key], key=key, id=rid), (key, i),
                           suggestion=did_you_mean(str(rid), [str(x) for x in ids if x is not None]),
                           prefer_key=False)
            removed.add(rid)
        return removed

    def _list(self, key: str, add: Document, removal_key: str) -> list[tuple[Document, SourceMap, Path_]]:
        """(entry, its source map, its path) for the merged list: parent order, replacements in place, adds last."""
        parent = self.p.get(key) or []
        ids = self._ids(parent)
        removed = self._removals(removal_key, ids)
        mine = self.c.get(key) or []
        replacing: dict[object, int] = {}
        what = key.rstrip("s")
        for i, entry in enumerate(mine):
            eid = entry.get("id") if isinstance(entry, dict) else None
            if eid not in ids:
                self.error(msg(_REPLACE_UNKNOWN_KEYS[what], key=key, id=eid), (key, i, "id"),
                           suggestion=_or_add(did_you_mean(str(eid), [str(x) for x in ids]), key, what),
                           prefer_key=False)
            elif eid in removed:
                self.error(msg(_REMOVED_AND_REPLACED_KEYS[what], id=eid, removal=removal_key, key=key),
                           (key, i, "id"), suggestion=msg("inherit.removed_and_replaced.hint"), prefer_key=False)
            else:
                replacing[eid] = i
        entries: list[tuple[Document, SourceMap, Path_]] = []
        for i, entry in enumerate(parent):
            eid = ids[i]
            if eid in removed:
                continue
            if eid in replacing:
                j = replacing[eid]
                entries.append((mine[j], self.cs, (key, j)))
            else:
                entries.append((entry, self.ps, (key, i)))
        for i, entry in enumerate(add.get(key) or []):
            eid = entry.get("id") if isinstance(entry, dict) else None
            if eid in ids:
                self.error(msg(_ADD_EXISTING_KEYS[what], key=key, id=eid), ("add", key, i, "id"),
                           suggestion=msg("inherit.add_existing.replace_hint", key=key), prefer_key=False)
                continue
            entries.append((entry, self.cs, ("add", key, i)))
        self.section_mark(key)
        return entries

    def clauses(self, add: Document) -> list[Document]:
        out = [self.take(("clauses", n), src, path, entry)
               for n, (entry, src, path) in enumerate(self._list("clauses", add, "remove_clauses"))]
        # A kept clause that depends on a removed one would fail later at the parent's line, where the
        # county officer cannot fix it; say so here, at the removal.
        removed = list(self.c.get("remove_clauses") or ())
        for entry in out:
            if not isinstance(entry, dict):
                continue
            found = entry.get("award")
            award: Document = found if isinstance(found, dict) else {}
            needs = list(entry.get("requires") or ()) + ([award["bonus_to"]] if "bonus_to" in award else [])
            for rid in needs:
                if rid in removed:
                    self.error(msg("inherit.depends_on_removed", id=entry.get("id"), removed=rid),
                               ("remove_clauses", removed.index(rid)), prefer_key=False,
                               suggestion=msg("inherit.depends_on_removed.hint", id=entry.get("id")))
        return out

    def groups(self, add: Document, clauses: list[Document]) -> list[Document]:
        removed_clauses = set(self.c.get("remove_clauses") or ())
        out: list[Document] = []
        for entry, src, path in self._list("groups", add, "remove_groups"):
            n = len(out)
            members = entry.get("members") or []
            if not removed_clauses & set(members):
                out.append(self.take(("groups", n), src, path, entry))
                continue
            if src is self.cs:  # this file's own group names a clause this file removes: say so, drop nothing
                gone = ", ".join(m for m in members if m in removed_clauses)
                self.error(msg("inherit.group_names_removed", group=entry.get("id"), ids=gone), path + ("members",),
                           suggestion=msg("inherit.group_names_removed.hint"), prefer_key=False)
                continue
            # A removed clause leaves every group it was in; a group left with one member means nothing.
            kept = [(i, m) for i, m in enumerate(members) if m not in removed_clauses]
            if len(kept) < 2:
                continue
            rebuilt: Document = {}
            self.key_mark(("groups", n), src, path)
            for k, v in entry.items():
                if k != "members":
                    rebuilt[k] = self.take(("groups", n, k), src, path + (k,), v)
            self.key_mark(("groups", n, "members"), src, path + ("members",))
            rebuilt["members"] = [self.take(("groups", n, "members", j), src, path + ("members", i), m)
                                  for j, (i, m) in enumerate(kept)]
            out.append(rebuilt)
        return out


def _or_add(closest: str | None, key: str, what: str) -> str:
    """'did you mean …? — to add a new …, put it under add: …', or only the second part."""
    add = msg("inherit.add_new", key=key, what=msg(_WHAT_KEYS[what]) if what in _WHAT_KEYS else what)
    return msg("inherit.closest_or_add", closest=closest, add=add) if closest else add


# What an entry of a section is called, and the problems of a list section (clauses, groups) by entry.
_WHAT_KEYS = {"recipient": "inherit.what.recipient", "reference": "inherit.what.reference",
              "fact": "inherit.what.fact", "parameter": "inherit.what.parameter", "reading": "inherit.what.reading",
              "clause": "inherit.what.clause", "group": "inherit.what.group"}
_REMOVE_UNKNOWN_KEYS = {"remove_clauses": "inherit.remove_unknown.clause",
                        "remove_groups": "inherit.remove_unknown.group"}
_REPLACE_UNKNOWN_KEYS = {"clause": "inherit.replace_unknown.clause", "group": "inherit.replace_unknown.group"}
_REMOVED_AND_REPLACED_KEYS = {"clause": "inherit.removed_and_replaced.clause",
                              "group": "inherit.removed_and_replaced.group"}
_ADD_EXISTING_KEYS = {"clause": "inherit.add_existing.clause", "group": "inherit.add_existing.group"}


def origin(source: SourceMap, path: Sequence[str | int]) -> str:
    """The file the entry at `path` of a merged document came from."""
    return source.file_of(tuple(path))

