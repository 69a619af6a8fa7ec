"""`policy migrate`: a policy file of an earlier language version rewritten in today's, with the meaning it had.

Each place whose words mean something else today (engine.syntax.versions) gets today's words for the old
meaning and a comment above it saying what changed; `language_version:` is set to today's. The file goes through
ruamel.yaml's round trip as `policy fmt` does, so comments and the author's text stay; it is replaced whole or
not at all, and only after the new text reads back with the meaning intended.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Sequence

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from engine.core.errors import LoadError, Problem, SchemaError
from engine.core.files import replace_when_done
from engine.core.messages import Message, msg
from engine.syntax import versions
from engine.syntax.loader import Path_, load_text, read_text
from engine.tools.fmt import _comments, _plain, _yaml
from engine.workspace import Library, load_resolved


@dataclass(frozen=True)
class Migrated:
    """What `policy migrate` did to one file: the version it was in, the changes, and its texts."""

    path: str
    version: int | None  # None: it did not say, and reads the same in every version
    changes: tuple[versions.Finding, ...]
    lines: tuple[int, ...]  # where each change is, in the new text
    before: str
    after: str
    lang: str = "zh"

    current: int = versions.CURRENT

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def nearest(self) -> list[tuple[int, Message]]:
        """The changes whose new words are the nearest today's language has, not the same: (line, what differs),
        for the author to check."""
        return [(line, versions.change_message(f)) for f, line in zip(self.changes, self.lines, strict=True)
                if not f.exact]


def migrate_text(path: str, given: int | None = None, library: Library | None = None) -> Migrated:
    """The file at `path` in today's language version. `given` is the version it is written in, when the file
    does not say (--from); a file that says so is read in its own version. Raises PolicyError (nothing written)."""
    name, text = read_text(path)
    loaded = load_text(text, name)
    data = loaded.data
    if not isinstance(data, dict) or not ("clauses" in data or "extends" in data):
        raise SchemaError(Problem(msg("versions.migrate.not_policy", path=path), file=name))
    said = versions.declared(data)
    if said is not None and given is not None and said != given:
        raise SchemaError(loaded.source.problem(msg("versions.migrate.from_conflict", path=path, version=said,
                                                    given=given), (versions.KEY,)))
    version = said if said is not None else given
    resolved = load_resolved(path, library, check_versions=False).data
    assert isinstance(resolved, dict)
    if version is None:
        if versions.unsaid(data, resolved):
            raise SchemaError(Problem(msg("versions.migrate.from_needed", path=path), file=name,
                                      suggestion=msg("versions.migrate.from_needed.hint", path=path)))
    elif version > versions.CURRENT:
        raise SchemaError(loaded.source.problem(msg("versions.newer", version=version, current=versions.CURRENT),
                                                (versions.KEY,), suggestion=msg("versions.newer.hint")))
    lang = str(resolved.get("language") or "zh")
    if said == versions.CURRENT:
        return Migrated(path, said, (), (), text, text, lang)
    found = versions.findings(data, version, resolved) if version is not None else []
    if name.endswith(".json") or text.lstrip().startswith("{"):
        # JSON has no comments to say what changed, and ruamel would write it back as YAML: the author changes it.
        raise SchemaError([loaded.source.problem(msg("versions.migrate.json", change=versions.change_message(f)),
                                                 f.at, prefer_key=True,
                                                 suggestion=msg("versions.migrate.json.hint", key=f.key,
                                                                value=f.value, current=versions.CURRENT))
                           for f in found] or
                          [Problem(msg("versions.migrate.json.plain", path=path, current=versions.CURRENT),
                                   file=name)])
    yaml = _yaml()
    tree = yaml.load(text)
    for finding in found:
        _apply(tree, finding, version or versions.FIRST, lang)
    _declare(tree, version, lang)
    out = io.StringIO()
    yaml.dump(tree, out)
    after = "\n".join(line.rstrip() for line in out.getvalue().splitlines()).strip("\n") + "\n"
    lines = _check(name, text, after, found)
    return Migrated(path, version, tuple(found), lines, text, after, lang)


def write(migrated: Migrated) -> None:
    """Replace the file with its migrated text, whole or not at all."""
    with replace_when_done(migrated.path, "w", newline="") as handle:
        handle.write(migrated.after)


def _apply(tree: CommentedMap, finding: versions.Finding, version: int, lang: str) -> None:
    """Today's words for the old meaning at the finding's place, with a comment above them."""
    *outer, index = finding.path
    seq = _at(tree, tuple(outer))
    assert isinstance(seq, CommentedSeq) and isinstance(index, int)
    entry = seq[index]
    assert isinstance(entry, CommentedMap)
    comment = msg("versions.migrate.comment", version=version, current=versions.CURRENT,
                  change=versions.change_message(finding)).localized(lang)
    key = finding.key
    if key not in entry:
        after = "pick" if "pick" in entry else list(entry)[-1]
        entry.insert(list(entry).index(after) + 1, key, finding.value)
    else:
        entry[key] = finding.value
    first = list(entry)[0] == key
    if entry.fa.flow_style() or first:
        column = seq.lc.item(index)[1]
        seq.yaml_set_comment_before_after_key(index, before=comment, indent=max(column - 2, 0))
    else:
        first_key = list(entry)[0]
        entry.yaml_set_comment_before_after_key(key, before=comment, indent=entry.lc.key(first_key)[1])


def _declare(tree: CommentedMap, version: int | None, lang: str) -> None:
    comment = msg("versions.migrate.added", current=versions.CURRENT).localized(lang)
    if versions.KEY in tree:
        tree[versions.KEY] = versions.CURRENT
    else:
        tree.insert(0, versions.KEY, versions.CURRENT)
    tree.yaml_add_eol_comment(comment, versions.KEY)


def _at(tree: Any, path: Path_) -> Any:
    node = tree
    for step in path:
        node = node[step]
    return node


def _check(name: str, before: str, after: str, found: Sequence[versions.Finding]) -> tuple[int, ...]:
    """The new text says what was meant: every comment kept, the same document but for the changes and the
    version. Returns the line of each change in the new text. A safeguard, never expected to fail."""
    old = load_text(before, name).data
    new = load_text(after, name)
    data = new.data
    assert isinstance(old, dict) and isinstance(data, dict)
    expected = _plain(old)
    patched = _plain(data)
    assert isinstance(expected, dict) and isinstance(patched, dict)
    expected[versions.KEY] = ("number", str(versions.CURRENT))
    for finding in found:
        _patch(expected, finding)
    kept = _comments(after)
    missing = [c for c in _comments(before) if c not in kept]
    if patched != expected or missing:
        raise LoadError(Problem(msg("fmt.would_change_meaning"), file=name,
                                suggestion=msg("fmt.would_change_meaning.hint")))
    return tuple(new.source.locate(finding.path + (finding.key,), True)[1] or 0 for finding in found)


def _patch(plain: dict[str, Any], finding: versions.Finding) -> None:
    node: Any = plain
    for step in finding.path:
        node = node[str(step)] if isinstance(node, dict) else node[step]
    node[finding.key] = ("str", finding.value)
