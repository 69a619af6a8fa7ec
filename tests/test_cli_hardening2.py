"""Regression tests for the second adversarial run (issue 16; inputs in tests/fixtures/repro-2/, by id)."""

from __future__ import annotations

import os
import re
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from engine.cache import FOLDER_NAME, PolicyCache

ROOT = Path(__file__).resolve().parent.parent
REPRO = ROOT / "tests" / "fixtures" / "repro-2"
LISHUI = str(ROOT / "policies" / "lishui-2021-67.yaml")
SELLER = str(ROOT / "examples" / "seller.yaml")


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# --- D10: the cache deletes only what it made, whatever folder POLICY_CACHE_DIR names ----------------

def _user_files(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for i in range(70):
        made[f"model-{i}.pickle"] = f"precious {i}\n".encode()
    made["ab" * 32 + ".pickle"] = b"named like a cache entry, but the user's own\n"
    made[".entry-" + "0" * 32 + ".part"] = b"named like an unfinished write, but the user's own\n"
    for name, content in made.items():
        (folder / name).write_bytes(content)
        os.utime(folder / name, (1_000_000_000, 1_000_000_000))  # old: the first to go if they were trimmed
    return made


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_d10_the_cache_never_removes_or_overwrites_a_users_files(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("engine.cache.MAX_ENTRIES", 1)  # trim on every write
    made = _user_files(tmp_path)
    source = Path(LISHUI).read_text(encoding="utf-8")
    for i in range(3):
        policy = tmp_path / f"p{i}.yaml"
        policy.write_text(source, encoding="utf-8")
        made[policy.name] = source.encode()
        assert run("evaluate", str(policy), SELLER).exit_code == 0
    assert _contents(tmp_path) == made
    own = tmp_path / FOLDER_NAME
    assert len(list(own.glob("*.pickle"))) == 1  # the cache's own entries are trimmed, in its own folder
    assert (own / "CACHEDIR.TAG").read_bytes().startswith(b"Signature: 8a477f597d28d172789f06886806bc55\n")


def test_d10_a_folder_of_the_caches_name_holding_other_files_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path))
    made = _user_files(tmp_path / FOLDER_NAME)
    os.chmod(tmp_path / FOLDER_NAME, 0o700)
    assert PolicyCache.open() is None
    assert run("evaluate", LISHUI, SELLER).exit_code == 0
    assert _contents(tmp_path / FOLDER_NAME) == made


def test_d10_trimming_spares_links_and_unknown_names_in_its_own_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("engine.cache.MAX_ENTRIES", 0)
    assert PolicyCache.open() is not None
    own = tmp_path / FOLDER_NAME
    outside = tmp_path / "elsewhere.pickle"
    outside.write_bytes(b"mine")
    (own / ("cd" * 32 + ".pickle")).symlink_to(outside)
    (own / "notes.txt").write_bytes(b"mine too")
    stale = own / (".entry-" + "1" * 32 + ".part")
    stale.write_bytes(b"left by a killed run")
    os.chmod(stale, 0o600)
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    assert run("evaluate", LISHUI, SELLER).exit_code == 0
    assert outside.read_bytes() == b"mine" and (own / ("cd" * 32 + ".pickle")).is_symlink()
    assert (own / "notes.txt").read_bytes() == b"mine too"
    assert not stale.exists() and list(own.glob("*.pickle")) == [own / ("cd" * 32 + ".pickle")]


def _a_file(tmp_path: Path) -> Path:
    path = tmp_path / "cache"
    path.write_text("a file, not a folder", encoding="utf-8")
    return path


def _under_a_file(tmp_path: Path) -> Path:
    return _a_file(tmp_path) / "below"


def _own_folder_is_a_file(tmp_path: Path) -> Path:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / FOLDER_NAME).write_text("a file", encoding="utf-8")
    return tmp_path / "cache"


def _own_folder_a_symlink(tmp_path: Path) -> Path:
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / FOLDER_NAME).symlink_to(tmp_path / "real")
    return tmp_path / "cache"


def _a_symlink_to_a_folder(tmp_path: Path) -> Path:
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "cache").symlink_to(tmp_path / "real")
    return tmp_path / "cache"


# An unwritable folder is simulated in test_d10_a_cache_that_cannot_be_written_is_only_a_miss: CI runs as root,
# which writes to a folder whatever its mode, so a chmod-ed folder would test nothing there.
@pytest.mark.parametrize("make", [_a_file, _under_a_file, _own_folder_is_a_file,
                                  _own_folder_a_symlink, _a_symlink_to_a_folder])
def test_d10_a_cache_folder_that_cannot_be_used_does_not_break_a_command(tmp_path, monkeypatch, make):
    monkeypatch.setenv("POLICY_CACHE", "0")
    expected = run("evaluate", LISHUI, SELLER, "--lang", "en")
    assert expected.exit_code == 0, expected.output
    monkeypatch.delenv("POLICY_CACHE")
    monkeypatch.setenv("POLICY_CACHE_DIR", str(make(tmp_path)))
    for _twice in range(2):
        again = run("evaluate", LISHUI, SELLER, "--lang", "en")
        assert again.exit_code == 0 and again.output == expected.output
    if (tmp_path / "real").exists():  # a symlinked own folder is not used; a symlinked POLICY_CACHE_DIR is
        used = list((tmp_path / "real").rglob("*.pickle"))
        assert len(used) == (1 if make is _a_symlink_to_a_folder else 0)


def test_d10_a_cache_that_cannot_be_written_is_only_a_miss(tmp_path, monkeypatch):
    """The same as an unwritable folder for any user, root included: every file the cache creates is refused."""
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path))
    assert PolicyCache.open() is not None  # the folder and its tag exist; from now on nothing can be created
    real_open = os.open

    def refuse_to_create(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr("engine.cache.os.open", refuse_to_create)
    for _twice in range(2):
        assert run("evaluate", LISHUI, SELLER).exit_code == 0
    assert list((tmp_path / FOLDER_NAME).iterdir()) == [tmp_path / FOLDER_NAME / "CACHEDIR.TAG"]


# --- D14: a flat sum is one level, however long; only real nesting counts towards the depth limit ----------

def _policy_with_base(tmp_path: Path, base: str) -> str:
    text = (REPRO / "D14" / "sum26.yaml").read_text(encoding="utf-8")
    start = text.index("base: ") + len("base: ")
    path = tmp_path / "p.yaml"
    path.write_text(text[:start] + '"' + base + '"' + text[text.index(", rate", start):], encoding="utf-8")
    return str(path)


def _facts(tmp_path: Path, a: str) -> str:
    path = tmp_path / "facts.yaml"
    path.write_text(f"recipient: firm\ndate: 2024-01-01\nfacts: {{a: {a}}}\n", encoding="utf-8")
    return str(path)


def test_d14_a_flat_sum_of_26_terms_is_valid_and_adds_up(tmp_path):
    for name in ("sum24.yaml", "sum26.yaml"):
        result = run("validate", str(REPRO / "D14" / name), "--lang", "en")
        assert result.exit_code == 0 and result.output.startswith("ok:"), result.output
    result = run("evaluate", str(REPRO / "D14" / "sum26.yaml"), _facts(tmp_path, "100"), "--lang", "en")
    assert result.exit_code == 0 and "2,600.00 × 50% = 1,300.00" in result.output.replace("元", "").replace(
        "CNY ", ""), result.output


@pytest.mark.parametrize("base, expected", [
    ("+".join(["a"] * 250), "375.00"),                                          # as long as MAX_LENGTH allows
    ("a" + "".join("+a" if i % 2 else "-a" for i in range(249)), "0.00"),       # + and - mixed
    ("a" + "".join("*2" if i % 2 else "/2" for i in range(249)), "0.75"),       # × and ÷ mixed
    ("+".join(["a*1"] * 125), "187.50"),                                        # a sum of products
    ("max(" * 5 + "+".join(["a"] * 100) + ", 0)" * 5, "150.00"),              # a long sum inside real nesting
])
def test_d14_the_longest_flat_chains_run_on_every_path(tmp_path, base, expected):
    policy, facts = _policy_with_base(tmp_path, base), _facts(tmp_path, "3")
    assert run("validate", policy).exit_code == 0
    fast = run("evaluate", policy, facts, "--lang", "en")
    assert fast.exit_code == 0 and f"Total: {expected}" in fast.output.replace("元", "").replace("CNY ", ""), \
        fast.output
    reference = run("evaluate", "--reference", policy, facts, "--lang", "en")
    assert reference.exit_code == 0 and reference.output == fast.output
    assert run("evaluate", "--format", "json", policy, facts).exit_code == 0
    for command in (["render"], ["render", "--format", "html"], ["lint"], ["diff", policy]):
        assert run(command[0], policy, *command[1:]).exit_code in (0, 1)


@pytest.mark.parametrize("base", ["-" * 30 + "a", "abs(" * 25 + "a" + ")" * 25,
                                  "a + (" * 25 + "a" + ")" * 25])
def test_d14_real_nesting_is_still_limited_and_the_message_says_what_counts(tmp_path, base):
    result = run("validate", _policy_with_base(tmp_path, base), "--lang", "en")
    assert result.exit_code == 1
    assert "more than 24 levels deep (a flat a + b + c counts as one level)" in result.output
    assert "derived value" in result.output


def test_d14_a_unit_mistake_deep_in_a_long_chain_is_found_where_it_is_written(tmp_path):
    base = "+".join(["a"] * 200) + "+5"
    result = run("validate", _policy_with_base(tmp_path, base), "--lang", "en")
    assert result.exit_code == 1 and "e.g. 5元" in result.output
    column = 57 + 1 + len("+".join(["a"] * 200)) + 1  # the quote, then the 200 terms and the '+'
    assert f"p.yaml:10:{column}:" in result.output, result.output


# --- D15: every line of the working adds up exactly; a number too large to be exact is refused where it is made ---

D15 = REPRO / "D15"


def _d15_policy(tmp_path: Path, old: str, new: str) -> str:
    path = tmp_path / "p.yaml"
    path.write_text((D15 / "huge-intermediate.yaml").read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return str(path)


def _amounts(line: str) -> list[Decimal]:
    return [Decimal(n.replace(",", "")) for n in re.findall(r"(-?[\d,]+\.\d+)元", line)]


@pytest.mark.parametrize("options", [[], ["--reference"], ["--format", "json"]])
def test_d15_a_number_past_what_is_computed_exactly_is_refused_at_its_expression(options):
    result = run("evaluate", *options, str(D15 / "huge-intermediate.yaml"), str(D15 / "huge-intermediate-facts.yaml"),
                 "--lang", "en")
    assert result.exit_code == 1, result.output
    assert "huge-intermediate.yaml:11:57: error: 'a * 9999999999999999 * 9999999999999999 * 9999999999999999' of " \
           "clause 1 computes a number of more than 48 integer digits" in result.output
    assert "封顶" not in result.output and "Traceback" not in result.output


def test_d15_the_excess_line_of_a_cap_adds_up_to_the_digit(tmp_path):
    # a × 10^16 × 10^8: a 40-digit amount before the cap, far past the 28 digits of Python's default context
    policy = _d15_policy(tmp_path, " * 9999999999999999 * 9999999999999999 * 9999999999999999",
                         " * 9999999999999999 * 99999999.37")
    sheets = [run("evaluate", *options, policy, str(D15 / "huge-intermediate-facts.yaml"))
              for options in ([], ["--reference"])]
    assert sheets[0].exit_code == 0 and sheets[0].output == sheets[1].output, sheets[0].output
    (line,) = [x for x in sheets[0].output.splitlines() if "封顶：" in x]
    before, after, excess = _amounts(line)[0], _amounts(line)[1], _amounts(line)[-1]
    with localcontext(prec=200):  # far more digits than any of these: exact
        exact = Decimal(9999999999999999 * 9999999999999999) * Decimal("99999999.37") * Decimal("0.5")
        assert before == exact and after == Decimal("100000.00")
        assert before - after == excess  # Decimal's default 28 digits rounded this (D15)
    assert len(str(before).replace(".", "")) > 28
    (product,) = [x for x in sheets[0].output.splitlines() if "基数 × 比例" in x]
    assert _amounts(product)[-1] == exact


def test_d15_a_condition_past_the_bound_is_refused_at_its_line_on_every_path(tmp_path):
    policy = _d15_policy(tmp_path, "recipient: firm, award:",
                         "recipient: firm, when: [a * 9999999999999999 * 9999999999999999 * 99 > a], award:")
    outputs = []
    for options in ([], ["--reference"]):
        result = run("evaluate", *options, policy, str(D15 / "huge-intermediate-facts.yaml"), "--lang", "en")
        assert result.exit_code == 1 and "'a * 9999999999999999 * 9999999999999999 * 99 > a' of clause 1 computes a number of more than 48" \
            in result.output, result.output
        outputs.append(result.output)
    assert outputs[0] == outputs[1]


def test_d15_lint_says_a_constant_cap_past_the_bound_will_be_refused(tmp_path):
    policy = _d15_policy(tmp_path, "cap: 10万元", "cap: 9999999999999999 * 9999999999999999 * 9999999999999999 * 99")
    result = run("lint", policy, "--lang", "en")
    assert "computes a number of more than 48 integer digits: every evaluation of the clause will be refused" \
        in result.output, result.output
