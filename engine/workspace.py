"""The one place policy, facts and tests files are found and read: policy files by declared id or document
number, `extends:` chains, `refers_to:` documents, the policy files of a served folder, an applicant's facts
file, a test suite's or a round's documents. Everything below this module (syntax, language, model, runtime) is
pure; the tools, rounds and the service above it ask it for files."""

from __future__ import annotations

import hashlib
import os
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from engine.core.errors import CompileError, InheritError, PolicyError, ProblemList
from engine.core.messages import msg
from engine.core.suggest import did_you_mean
from engine.model.facts import Applicant, applicant_from
from engine.model.policy import Policy
from engine.syntax.loader import Loaded, load_file
from engine.syntax.schema import validate_policy

POLICY_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Header:
    """The top-level identity of a policy file, read without validating the rest of it."""

    path: str
    id: str | None
    document: str | None


class LookupFailed(Exception):
    """A name could not be resolved to one file; the caller places the message at the line that named it."""

    def __init__(self, message: str, suggestion: str | None = None, ambiguous: bool = False):
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion
        self.ambiguous = ambiguous  # several matches or a missing folder: an error even where a miss is not


def _real(path: str) -> str:
    return os.path.realpath(path)


def is_policy_file(path: Path) -> bool:
    """Whether a file is a policy file: YAML or JSON, not hidden, not a tests file (NAME.tests.yaml), a facts
    file (NAME.facts.yaml) or a schema (NAME.facts.schema.json, as `policy schema` writes one). The one
    definition: --policies folders and a served folder both use it."""
    name = path.name
    return (path.is_file() and name.endswith(POLICY_SUFFIXES) and not name.startswith(".")
            and ".tests." not in name and not name.endswith((".facts.yaml", ".facts.json", ".schema.json")))


def policy_files(folder: str | Path) -> list[str]:
    """The policy files under `folder` and its subfolders (none inside a hidden one), sorted."""
    root = Path(folder)
    return sorted(str(p) for p in root.rglob("*") if is_policy_file(p)
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def load_document(path: str) -> Loaded:
    """A YAML or JSON file the user gave (facts, a test suite, a round's facts file), read strictly, with its
    source marks; LoadError, located, when it cannot be read."""
    return load_file(path)


def load_applicant(policy: Policy, path: str) -> Applicant:
    """The applicant in the facts file at `path`, checked against what `policy` declares (FactsError if not)."""
    return applicant_from(policy, load_file(path))


def case_files(path: str) -> list[str]:
    """The file at `path`, or the YAML and JSON files of the folder at `path` (sorted): test suites or facts."""
    p = Path(path)
    if p.is_dir():
        return sorted(str(f) for f in p.iterdir() if f.suffix in (".yaml", ".yml", ".json"))
    return [str(p)]


class Library:
    """Policy files a command may draw on: explicit files (--with) first, then folders (--policies) in order.

    Lookups go level by level and the first level with a match wins; two matches on one level are an
    error, because which one was meant cannot be known.
    """

    def __init__(self, dirs: Sequence[str] = (), files: Sequence[str] = ()):
        self.dirs = tuple(dirs)
        self.files = tuple(files)
        self._headers: dict[str, Header | None] = {}
        self._broken: dict[str, PolicyError] = {}  # candidates that could not be read, to explain a miss

    def header(self, path: str, strict: bool = False) -> Header | None:
        """id and document of a file, or None when it cannot be read as a policy (it is then skipped).

        `strict` (a file the user named with --with) raises its own error instead of skipping it.
        """
        real = _real(path)
        if strict and real in self._broken:
            raise self._broken[real]
        if real not in self._headers:
            try:
                data = _load(path).data
            except PolicyError as error:
                self._broken[real] = error
                if strict:
                    raise
                data = None
            if isinstance(data, dict):
                pid, doc = data.get("id"), data.get("document")
                self._headers[real] = Header(path, pid if isinstance(pid, str) else None,
                                             doc if isinstance(doc, str) else None)
            else:
                self._headers[real] = None
        return self._headers[real]

    def _dir_headers(self, folder: str) -> list[Header]:
        root = Path(folder)
        if not root.is_dir():
            raise LookupFailed(msg("library.no_folder", folder=folder), ambiguous=True)
        record = _recording.get()
        if record is not None:
            record.reads.append(("dir", _real(folder)))
        found = []
        for path in sorted(root.iterdir()):
            if is_policy_file(path):
                header = self.header(str(path))
                if header is not None:
                    found.append(header)
        return found

    def _levels(self, extra_dirs: Iterable[str]) -> list[tuple[str, list[Header]]]:
        levels: list[tuple[str, list[Header]]] = []
        explicit = [h for h in (self.header(f, strict=True) for f in self.files) if h is not None]
        if explicit:
            levels.append(("--with files", explicit))
        seen: set[str] = set()
        for folder in list(self.dirs) + list(extra_dirs):
            real = _real(folder)
            if real in seen:
                continue
            seen.add(real)
            levels.append((folder, self._dir_headers(folder)))
        return levels

    def _find(self, key: str, want: str, extra_dirs: Iterable[str], exclude: str | None, what: str) -> str:
        known: set[str] = set()
        searched = []
        for label, headers in self._levels(extra_dirs):
            searched.append(label)
            candidates = [h for h in headers if exclude is None or _real(h.path) != _real(exclude)]
            known.update(getattr(h, key) for h in candidates if getattr(h, key))
            matches = [h for h in candidates if getattr(h, key) == want]
            if len(matches) == 1:
                return matches[0].path
            if len(matches) > 1:
                raise LookupFailed(msg("library.ambiguous", count=len(matches), what=what, want=want,
                                       where=msg("library.with_files") if label == "--with files" else label,
                                       files=", ".join(h.path for h in matches)),
                                   msg("library.ambiguous.hint"), ambiguous=True)
        where = ", ".join(searched) if searched else msg("library.nowhere")
        if self._broken:  # the file meant may be one that could not be read: say so rather than "not found"
            unread = "; ".join(e.problems[0].format().splitlines()[0] for e in self._broken.values() if e.problems)
            raise LookupFailed(msg("library.not_found", what=what, want=want, where=where),
                               msg("library.unreadable", files=unread))
        raise LookupFailed(msg("library.not_found", what=what, want=want, where=where),
                           did_you_mean(want, known) or msg("library.not_found.hint"))

    def find_id(self, policy_id: str, near: str | None = None) -> str:
        """The file declaring `id: policy_id`; `near` (a file) adds its folder and that folder's parent."""
        extra: list[str] = []
        if near is not None:
            # Kept relative when `near` is, so messages name files the way the user wrote them.
            here = os.path.dirname(near) or "."
            extra = [here, os.path.normpath(os.path.join(here, ".."))]
        return self._find("id", policy_id, extra, near, "id")

    def find_document(self, document: str) -> str:
        """The file declaring `document: <number>`, among explicit files and folders only (never guessed)."""
        return self._find("document", document, (), None, "document")

    def has_sources(self) -> bool:
        return bool(self.dirs or self.files)


# --- what a load read, for the cache of compiled policies ----------------------------------------------

@dataclass
class _Record:
    """What one load read: ("file" | "dir", real path) for the cache's key, and (path, text) of each file the
    policy is made from, for its revision. Kept per thread and per task (a ContextVar), so two loads at once in
    one process (the service's reloads, a thread pool) never mix their records."""

    reads: list[tuple[str, str]]
    sources: list[tuple[str, str]]


_recording: ContextVar[_Record | None] = ContextVar("engine_workspace_recording", default=None)


def _load(path: str) -> Loaded:
    record = _recording.get()
    if record is not None:
        record.reads.append(("file", _real(path)))
    return load_file(path)


# --- extends: --------------------------------------------------------------------------------------

def load_resolved(path: str, library: Library | None = None) -> Loaded:
    """Load a policy file, follow its `extends:` chain, and return the merged, schema-valid document."""
    library = library or Library()
    loaded = _resolve(path, library, ())
    if loaded.source.files:  # merged from several files: the merged whole must also be a complete policy
        validate_policy(loaded)
    return loaded


def _resolve(path: str, library: Library, chain: tuple[tuple[str, str], ...]) -> Loaded:
    """The chain is followed in a loop of calls bounded by MAX_CHAIN (checked before each step)."""
    from engine.syntax.inherit import MAX_CHAIN, check_child, is_path_form, merge

    loaded = _load(path)
    record = _recording.get()
    if record is not None:
        record.sources.append((path, loaded.text))
    data = loaded.data
    if not isinstance(data, dict) or "extends" not in data:
        validate_policy(loaded)
        return loaded
    validate_policy(loaded, partial=True)  # the county file on its own terms: known keys, right shapes
    source = loaded.source
    target = check_child(loaded)
    if target == data.get("id"):
        raise InheritError(source.problem(msg("inherit.cycle", loop=f"{path} → {path}"), ("extends",),
                                          suggestion=msg("inherit.cycle.hint")))
    try:
        if is_path_form(target):
            parent_path = os.path.normpath(os.path.join(os.path.dirname(path), target))
            if not Path(parent_path).is_file():
                raise LookupFailed(msg("inherit.not_a_file", target=target, path=parent_path),
                                   msg("inherit.not_a_file.hint"))
        else:
            parent_path = library.find_id(target, near=path)
    except LookupFailed as exc:
        raise InheritError(source.problem(exc.message, ("extends",), suggestion=exc.suggestion)) from None
    here = (os.path.realpath(path), path)
    trail = chain + (here,)
    real_parent = os.path.realpath(parent_path)
    names = [p for _r, p in trail]
    if any(real == real_parent for real, _p in trail):
        start = [r for r, _p in trail].index(real_parent)
        loop = names[start:] + [parent_path]
        raise InheritError(source.problem(msg("inherit.cycle", loop=" → ".join(loop)), ("extends",),
                                          suggestion=msg("inherit.cycle.hint")))
    if len(trail) >= MAX_CHAIN:
        raise InheritError(source.problem(msg("inherit.too_long", limit=MAX_CHAIN, chain=" → ".join(names)),
                                          ("extends",)))
    if not isinstance(_load(parent_path).data, dict):  # e.g. a path to some other kind of file
        raise InheritError(source.problem(msg("inherit.not_policy", path=parent_path), ("extends",),
                                          suggestion=msg("inherit.not_policy.hint")))
    return merge(_resolve(parent_path, library, trail), loaded)


# --- whole policies, and the documents they refer to -------------------------------------------------

def load_policy(path: str, *, policies: Sequence[str] = (), with_files: Sequence[str] = (),
                library: Library | None = None, cache: bool = False) -> Policy:
    """Load, validate and compile a policy file; raise a PolicyError subclass listing every problem.

    A file that `extends:` another is merged with it first. `policies` (folders) and `with_files` are
    where a parent named by id, or a document named by a reference, is looked up. `cache` keeps the
    compiled policy in the user's own cache folder (engine.cache), keyed by the content of every file read.
    """
    library = library or Library(policies, with_files)
    if cache:
        from engine.cache import PolicyCache

        store = PolicyCache.open()
        if store is not None:
            return store.load(path, (library.dirs, library.files), lambda: _recorded(path, library))
    return _recorded(path, library)[0]


def load_reading(path: str, reading: str, *, policies: Sequence[str] = (), with_files: Sequence[str] = (),
                 library: Library | None = None) -> Policy:
    """The policy at `path` read the other way: alternative N of a reading applied (`Q3` or `Q3:2`)."""
    from engine.model.compile import compile_policy
    from engine.syntax.readings import alternative_document, parse_choice

    library = library or Library(policies, with_files)
    rid, number = parse_choice(reading)
    other = alternative_document(load_resolved(path, library), rid, number)
    validate_policy(other)
    return link(compile_policy(other), library)


def load_with_sources(path: str, library: Library) -> tuple[Policy, list[str]]:
    """A policy, and every file it was made from (itself, its parents, the documents it refers to)."""
    policy, reads = _recorded(path, library)
    return policy, [p for kind, p in reads if kind == "file"]


def _recorded(path: str, library: Library) -> tuple[Policy, list[tuple[str, str]]]:
    """Load a policy, and what was read to make it: every file, and every folder searched."""
    from engine.model.compile import compile_policy

    record = _Record([], [])
    token = _recording.set(record)
    try:
        policy = link(compile_policy(load_resolved(path, library)), library)
        _stamp(policy, record.sources)
        return policy, list(dict.fromkeys(record.reads))
    finally:
        _recording.reset(token)


def _stamp(policy: Policy, texts: list[tuple[str, str]]) -> None:
    """Keep on the compiled policy the files it was made from and its revision (a hash of their hashes)."""
    sources: dict[str, tuple[str, str, bytes]] = {}
    for path, text in texts:
        data = text.encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        sources.setdefault(digest, (path, digest, data))
    # The main file's hash, then the others' sorted: where a parent or a referred document was found, and in
    # which order, does not change what the policy says (the ledger's engine.ledger.records.revision_of).
    main, *others = sources
    revision = hashlib.sha256("\n".join([main, *sorted(others)]).encode("ascii")).hexdigest()
    # Set on the frozen policy itself, not a copy: the documents it is linked with hold this very object.
    object.__setattr__(policy, "sources", tuple(sources.values()))
    object.__setattr__(policy, "revision", revision)


MAX_DOCUMENTS = 32  # a closure of referenced documents larger than this is a mistake


def link(policy: Policy, library: Library) -> Policy:
    """Attach the policies of documents referred to by clause, found by their declared document number.

    A document whose policy file is not supplied stays unlinked (its clauses report 'referred').
    """
    if not library.has_sources() or not any(c.refers_clause for c in policy.clauses):
        return policy
    from engine.model.compile import compile_policy
    from engine.model.references import clause_problem, linked_set

    problems = ProblemList()
    compiled: dict[str, Policy] = {policy.document: policy}
    queue = [policy]
    while queue:
        current = queue.pop(0)
        for clause in current.clauses:
            doc = clause.refers_to
            if not clause.refers_clause or doc is None or doc in compiled:
                continue
            try:
                path = library.find_document(doc)
            except LookupFailed as exc:
                if exc.ambiguous:
                    problems.add(clause_problem(clause, exc.message, exc.suggestion))
                continue  # not supplied: the clause stays 'referred'
            if len(compiled) >= MAX_DOCUMENTS:
                problems.add(clause_problem(clause, msg("references.too_many", limit=MAX_DOCUMENTS)))
                break
            other = compile_policy(load_resolved(path, library))
            compiled[doc] = other
            queue.append(other)
    problems.raise_if_any(CompileError)
    return linked_set(compiled, policy.document, problems)
