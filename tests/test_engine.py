"""The import graph of engine/: the layers of docs/architecture.md and no cycles (import-linter, configured in
pyproject.toml), and the CLI and the service standing on the public API (engine/__init__.py) alone."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_imports_follow_the_layers_and_make_no_cycle():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    done = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


def _engine_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every `from engine.X import …` / `import engine.X` in the file, in functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return [(line, m) for line, m in found if m.startswith("engine.")]


def test_the_cli_and_the_service_import_only_the_public_api():
    reaching = []
    for path in [ROOT / "cli.py", ROOT / "cli_commands.py", *sorted((ROOT / "engine" / "service").glob("*.py"))]:
        own = "engine.service." if path.parent.name == "service" else None
        for line, module in _engine_imports(path):
            if own is None or not module.startswith(own):
                reaching.append(f"{path.relative_to(ROOT)}:{line}: {module}")
    assert reaching == [], "import these through engine/__init__.py:\n" + "\n".join(reaching)


def test_every_public_name_loads_and_has_a_docstring():
    import engine

    undocumented = set()
    for name in engine.__all__:
        value = getattr(engine, name)
        if callable(value) and not isinstance(value, type) and not (value.__doc__ or "").strip():
            undocumented.add(name)
    assert undocumented == set(), f"no docstring: {sorted(undocumented)}"


def test_import_engine_loads_nothing_else():
    code = "import sys, engine; print(sorted(m for m in sys.modules if m.startswith('engine')))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "['engine']", done.stdout + done.stderr
