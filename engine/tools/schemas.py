"""The JSON Schemas a county's editors need, copied into the county's own repository (`policy schemas DIR`, and
`policy fork`), so a file's `$schema` line resolves wherever the repository is cloned."""

from __future__ import annotations

import os
from pathlib import Path

from engine.core.files import replace_when_done
from engine.syntax.schema import schema_text

# What an editor checks in a county repository: policy files, and officers' test files.
EDITOR_SCHEMAS = ("policy.schema.json", "tests.schema.json")


def copy_schemas(folder: str | os.PathLike[str]) -> list[tuple[Path, bool]]:
    """Each editor schema written into `folder` (made if missing), whole; (its path, whether it changed). A copy
    already the same as this engine's is left untouched; an older one is replaced by this engine's."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    done = []
    for name in EDITOR_SCHEMAS:
        text = schema_text(name)
        path = target / name
        try:
            same = path.read_text(encoding="utf-8") == text
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            with replace_when_done(path, "w", newline="") as handle:
                handle.write(text)
        done.append((path, not same))
    return done


def repository_root(path: str | os.PathLike[str]) -> Path | None:
    """The git repository `path` is in (the folder holding .git), or None."""
    here = Path(os.path.abspath(path)).parent
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def schemas_folder_for(output: str | os.PathLike[str]) -> Path | None:
    """Where a county file's schemas go: `schemas/` at the root of its git repository; outside one, beside the
    `policies/` folder it is written in (the layout this project ships); else None (a file on its own: it points at
    the engine's own copy, as there is no repository to clone)."""
    root = repository_root(output)
    if root is not None:
        return root / "schemas"
    folder = Path(os.path.abspath(output)).parent
    return folder.parent / "schemas" if folder.name == "policies" else None


def schema_ref(output: str | os.PathLike[str], folder: str | os.PathLike[str]) -> str:
    """The `$schema` reference from `output` to the policy schema in `folder`, relative, with forward slashes."""
    relative = os.path.relpath(Path(os.path.abspath(folder)) / "policy.schema.json",
                               os.path.dirname(os.path.abspath(output)))
    return relative.replace(os.sep, "/")


def schema_url(url: str) -> str:
    """The policy schema's address from what an officer gives `policy fork --schema-url`: a schema's own address
    (ending in .json) as it is; the bureau's service (`policy serve`, e.g. https://bureau.example/) or its
    /schemas folder completed to `…/schemas/policy.schema.json`, where `policy serve` gives it."""
    if url.lower().endswith(".json"):
        return url
    base = url.rstrip("/")
    return f"{base}/policy.schema.json" if base.endswith("/schemas") else f"{base}/schemas/policy.schema.json"
