"""The `policy` command's commands other than `evaluate` (cli.py), imported only when one of them runs or --help
lists them: wiring from the command line to the engine's stages, and nothing more."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import click

from cli import (
    CommandFn,
    _fail,
    lang_option,
    library_options,
    message_lang,
    write_new_file,
)
from engine import PolicyError, Problem, localize, t

if TYPE_CHECKING:
    from engine import Ledger, Policy

ID_PATTERN = r"[a-z0-9][a-z0-9-]{0,63}"  # as schemas/policy.schema.json requires of id:
# Lint's summary: a count of findings by severity, and whether it is one.
_LINT_COUNT_KEYS = {("error", False): "cli.lint.error", ("error", True): "cli.lint.error.one",
                    ("warning", False): "cli.lint.warning", ("warning", True): "cli.lint.warning.one",
                    ("info", False): "cli.lint.info", ("info", True): "cli.lint.info.one"}


# The group these commands are registered in; cli.cli hands them out when asked for one. (Named `cli` so that
# each command reads here as it did in cli.py: @cli.command(...).)
@click.group()
def cli() -> None:
    """The commands of `policy` other than evaluate."""


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json prints every problem with file, line, column, path and suggestion.")
@lang_option
@library_options
def validate(files: tuple[str, ...], fmt: str, lang: str | None, policies: tuple[str, ...],
             with_files: tuple[str, ...]) -> None:
    """Check policy FILES: strict YAML, the schema, expressions and names. Exit 1 if any is invalid."""
    from engine import Library, check_suite, is_tests_file, load_policy, load_resolved, reading_problems
    report: list[dict[str, object]] = []
    bad = 0
    langs: list[str] = []

    def refused(path: str, error: PolicyError) -> None:
        here = message_lang(lang, path=path)
        langs.append(here)
        report.append({"file": path, "valid": False, "problems": [p.to_json(here) for p in error.problems]})
        if fmt == "text":
            click.echo(error.format(here), err=True)

    for path in files:
        if is_tests_file(path):  # an officers' tests file: checked as `policy test` reads it
            try:
                suite, named = check_suite(path, lambda p: load_policy(p, policies=policies, with_files=with_files))
            except PolicyError as error:
                bad += 1
                refused(path, error)
                continue
            here = message_lang(lang, named)
            langs.append(here)
            report.append({"file": path, "valid": True, "problems": []})
            if fmt == "text":
                click.echo(t("cli.valid_tests", here, path=path, cases=len(suite.cases),
                             policy=suite.policy_path or "-"))
            continue
        try:
            policy = load_policy(path, policies=policies, with_files=with_files)
            if any(a.change for r in policy.readings.values() for a in r.alternatives):
                # Each reading's alternatives must compile too: a misspelt name inside one is found here.
                wrong = reading_problems(load_resolved(path, Library(policies, with_files)))
                if wrong:
                    raise PolicyError(wrong)
        except PolicyError as error:
            bad += 1
            refused(path, error)
            continue
        here = message_lang(lang, policy)
        langs.append(here)
        report.append({"file": path, "valid": True, "problems": []})
        if fmt == "text":
            click.echo(t("cli.valid", here, path=path, document=policy.document, clauses=len(policy.clauses),
                         facts=len(policy.facts), parameters=len(policy.parameters)))
    if fmt == "json":
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    elif bad:
        # Several files may declare different languages; the summary speaks the first one's.
        click.echo(t("cli.invalid.one" if len(files) == 1 else "cli.invalid", langs[0], bad=bad, count=len(files)),
                   err=True)
    sys.exit(1 if bad else 0)


@cli.command(name="facts")
@click.argument("policy_file", metavar="POLICY", type=click.Path(dir_okay=False))
@click.option("--recipient", default=None, help="Only the facts this kind of applicant must supply.")
@click.option("--schema", "as_schema", is_flag=True, help="Print the JSON Schema a facts file must satisfy.")
@click.option("--template", "template", type=click.Choice(["xlsx", "csv"]), default=None,
              help="Write a blank application sheet (one column per fact, an example row) to fill in Excel or WPS.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="The file to write (the application sheet with --template, else the facts-file template or "
                   "with --schema the schema) instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite the -o file if it exists.")
@lang_option
def facts_cmd(policy_file: str, recipient: str | None, as_schema: bool, template: str | None, output: str | None,
              force: bool, lang: str | None) -> None:
    """Show what an applicant must supply: a facts-file template to fill in, its JSON Schema, or (--template)
    an application sheet for a whole round."""
    from engine import facts_schema, facts_template, load_policy
    try:
        policy = load_policy(policy_file)
    except PolicyError as error:
        _fail(error, message_lang(lang, path=policy_file))
    if recipient is not None and recipient not in policy.recipients:
        from engine import did_you_mean, one_of

        here = message_lang(lang, policy)
        hint = did_you_mean(recipient, policy.recipients) or t("cli.choose_one", here, names=one_of(policy.recipients))
        raise click.BadParameter(t("cli.unknown_recipient", here, recipient=recipient, id=policy.id,
                                   hint=localize(hint, here)), param_hint="--recipient")
    if as_schema:
        schema = json.dumps(facts_schema(policy), ensure_ascii=False, indent=2)
        if output is None:
            click.echo(schema)
            return
        here = message_lang(lang, policy)
        write_new_file(output, schema + "\n", force, t("cli.exists_force", here, path=output), here,
                       inputs=[policy_file])
        click.echo(t("cli.wrote", here, path=output), err=True)
        return
    if template is not None:
        application_sheet(policy, template, recipient, output, force, message_lang(lang, policy), policy_file)
        return
    here = message_lang(lang, policy)
    # Editors check the filled-in file against the policy's facts schema, kept beside the policy file; the
    # line is relative to the current folder, where the printed template is usually saved.
    stem = Path(policy_file).name.removesuffix(".yaml").removesuffix(".yml")
    schema_file = Path(policy_file).with_name(stem + ".facts.schema.json")
    schema_line = (f"# yaml-language-server: $schema={Path(os.path.relpath(schema_file)).as_posix()}"
                   if schema_file.is_file() else
                   t("editor.facts_schema.missing", here, policy=policy_file, path=schema_file.as_posix()))
    text = schema_line + "\n" + facts_template(policy, recipient, here)
    if output is None:
        click.echo(text, nl=False)
        return
    write_new_file(output, text, force, t("cli.exists_force", here, path=output), here, inputs=[policy_file])
    click.echo(t("cli.wrote", here, path=output), err=True)


# --- application rounds: the application sheet and `policy batch` (engine/rounds) ---------------------------

def application_sheet(policy: Policy, form: str, recipient: str | None, output: str | None, force: bool, lang: str,
                      policy_file: str) -> None:
    """`policy facts --template`: write the blank application sheet of a round."""
    from engine import csv_template, xlsx_template

    if output is None:
        raise click.UsageError(t("template.needs_output", lang))
    if os.path.realpath(output) == os.path.realpath(policy_file):
        click.echo(t("cli.output_is_input", lang, path=output), err=True)
        sys.exit(1)
    if Path(output).exists() and not force:  # said before the sheet is made; write_new_file refuses again
        click.echo(t("cli.exists_force", lang, path=output), err=True)
        sys.exit(1)
    content = csv_template(policy, lang, recipient) if form == "csv" else \
        (lambda handle: xlsx_template(policy, lang, recipient, handle))
    write_new_file(output, content, force, t("cli.exists_force", lang, path=output), lang, inputs=[policy_file])
    click.echo(t("template.wrote", lang, path=output), err=True)


@cli.command(name="batch")
@click.argument("policy_file", metavar="POLICY", type=click.Path(dir_okay=False))
@click.argument("applicants", metavar="APPLICANTS", type=click.Path(exists=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Results: .xlsx (a workbook for officers), .csv, .jsonl or .parquet (for programs; errors and "
                   "summary are written beside it).")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes evaluating applicants.")
@click.option("--sheets", "sheets_dir", type=click.Path(file_okay=False), default=None,
              help="Also write each applicant's calculation sheet (HTML, printable) into this folder.")
@click.option("--force", is_flag=True, help="Overwrite existing results and sheets.")
@click.option("--ledger", "ledger_url", default=None, metavar="L",
              help="Take earlier grants from this ledger (a SQLite file or a postgresql:// URL) by each row's "
                   "credit code, instead of the rows' granted columns.")
@click.option("--record", "round_id", default=None, metavar="ROUND",
              help="Record the round's decisions and awards in the --ledger as ROUND, in one transaction, once "
                   "every row was evaluated and the pools shared (a round id is recorded once).")
@click.option("--by", "by", default=None, help="Who records the round (default: the operating system's user).")
@click.option("--engine", "engine_name", type=click.Choice(["sql", "rows"]), default=None,
              help="[default: sql when it can, for a file of 1 MB or more and output other than XLSX] sql: DuckDB "
                   "runs the policy as one query over the round (a large CSV file cut into --jobs parts run at "
                   "once); rows it cannot decide exactly (a fact missing, a cell in another form) go to the row "
                   "engine: the same results. A workbook (XLSX output) is the same either way and no quicker in "
                   "SQL, so it is written row by row unless --engine sql is given. It falls back to rows for a "
                   "folder of facts files, a CSV not in UTF-8, --sheets, --ledger, --record, or a policy the query "
                   "cannot express (and says why when --engine sql is given).")
@click.option("--approved", "approved_file", default=None, type=click.Path(exists=True, dir_okay=False),
              help="With --record: the signed results workbook of this round, whose 核定金额 cells (beside each "
                   "ceiling) are recorded as what was paid; an empty cell keeps the ceiling.")
@lang_option
@library_options
def batch_cmd(policy_file: str, applicants: str, output: str, jobs: int, sheets_dir: str | None, force: bool,
              ledger_url: str | None, round_id: str | None, by: str | None, engine_name: str | None,
              approved_file: str | None,
              lang: str | None, policies: tuple[str, ...], with_files: tuple[str, ...]) -> None:
    """Evaluate a round of APPLICANTS (XLSX, CSV, JSON Lines, Parquet, or a folder of facts files) under POLICY.

    A bad row is listed with its row, column and reason, and every other row is evaluated. Exit 0 when every
    row was evaluated, 1 when some rows had problems (the results are written) or the file cannot be read."""
    from engine import ROUND_WRITERS as WRITERS
    from engine import Round, RoundError, fixed_labels, load_policy, make_output, open_source, sheet_columns
    from engine import RoundSettings as Settings
    from engine import SheetHeaders as Headers
    from engine import round_outputs as outputs

    policy = None
    try:
        policy = load_policy(policy_file, policies=policies, with_files=with_files, cache=True)
    except PolicyError as error:
        _fail(error, message_lang(lang, policy, policy_file))
    here = message_lang(lang, policy)
    if round_id is not None and ledger_url is None:
        raise click.UsageError(t("ledger.use.record_needs_ledger", here))
    if approved_file is not None and round_id is None:
        raise click.UsageError(t("ceiling.approved.needs_record", here))
    if ledger_url is not None:
        _check_ledger(ledger_url, round_id, here)
    from engine import approve_round, read_approved

    approved = _round_step(lambda: read_approved(approved_file, policy), here) if approved_file else None
    if Path(output).suffix.lower() not in WRITERS:
        raise click.BadParameter(t("batch.output_format", here, path=output), param_hint="-o")
    for path in outputs(output):
        if os.path.realpath(path) in (os.path.realpath(applicants), os.path.realpath(policy_file),
                                      os.path.realpath(approved_file or applicants)):
            click.echo(t("cli.output_is_input", here, path=path), err=True)
            sys.exit(1)
        if Path(path).exists() and not force:
            click.echo(t("cli.exists_force", here, path=path), err=True)
            sys.exit(1)
    if sheets_dir is not None and Path(sheets_dir).is_dir() and any(Path(sheets_dir).iterdir()) and not force:
        click.echo(t("batch.sheets_not_empty", here, path=sheets_dir), err=True)
        sys.exit(1)
    other = "en" if here == "zh" else "zh"
    headers = Headers(sheet_columns(policy, here, None), {label: name for name, label in fixed_labels(other).items()})
    try:
        source = open_source(applicants, headers, count=sys.stderr.isatty())
    except RoundError as error:
        click.echo(t("cli.error", here, message=localize(error.message, here)), err=True)
        if error.suggestion:
            click.echo("    " + t("problem.hint", here, hint=localize(error.suggestion, here)), err=True)
        sys.exit(1)
    for notice in source.notices:
        click.echo(localize(notice, here), err=True)
    try:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        if sheets_dir is not None:
            Path(sheets_dir).mkdir(parents=True, exist_ok=True)
        writer = make_output(output, policy, here, sheets_dir, applicants)
    except OSError as error:
        click.echo(t("cli.cannot_write", here, path=output, reason=error.strerror), err=True)
        sys.exit(1)
    kinds = {r.label: k for k, r in policy.recipients.items()}
    kind = WRITERS[Path(output).suffix.lower()]
    settings = Settings(here, kind, sheets=sheets_dir, ledger=ledger_url, record=round_id is not None)
    bar = None
    if sys.stderr.isatty():
        bar = click.progressbar(length=source.total or 0, file=sys.stderr, label=t("batch.progress", here))
        bar.__enter__()
    the_round: Any = None
    if engine_name != "rows":
        from engine import SqlRound, sql_round_why_not

        why = sql_round_why_not(policy, source, settings, asked=engine_name == "sql")
        if why is None:
            the_round = SqlRound(policy, source, settings, kinds, jobs, bar.update if bar is not None else None)
        elif engine_name == "sql":  # asked for: say why not
            click.echo(t("batch.engine.rows", here, why=t(_ROWS_WHY[why], here)), err=True)
    if the_round is None:
        the_round = Round(policy, source, settings, kinds, jobs, bar.update if bar is not None else None)
    try:
        try:
            summary = the_round.run(writer)
        except Exception as error:
            from engine import SqlFallback

            if not isinstance(error, SqlFallback):
                raise
            # DuckDB could not read this round (nothing was written): row by row, as csv.reader reads it
            if engine_name == "sql":  # asked for: say why not
                click.echo(t("batch.engine.rows", here, why=t("batch.engine.why.fallback", here, detail=str(error))),
                           err=True)
            writer = make_output(output, policy, here, sheets_dir, applicants)
            the_round = Round(policy, source, settings, kinds, jobs, bar.update if bar is not None else None)
            summary = the_round.run(writer)
    except PolicyError as error:  # the ledger cannot be read
        _fail(error, here)
    except RoundError as error:
        click.echo(t("cli.error", here, message=localize(error.message, here)), err=True)
        if error.suggestion:
            click.echo("    " + t("problem.hint", here, hint=localize(error.suggestion, here)), err=True)
        sys.exit(1)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    from engine import format_money

    click.echo(t("batch.done", here, applicants=summary.applicants, complete=summary.complete,
                 total=format_money(summary.total), path=output), err=True)
    if summary.bad_rows:
        click.echo(t("batch.bad_rows", here, count=summary.bad_rows), err=True)
    if round_id is not None and ledger_url is not None:
        if summary.bad_rows:  # all or nothing: a round is recorded whole, once
            click.echo(t("ledger.use.not_recorded", here, round=round_id, count=summary.bad_rows), err=True)
        else:
            decisions = the_round.decisions
            if approved is not None:  # what the department approved within each ceiling is what was paid
                decisions, left = _round_step(lambda: approve_round(decisions, approved, policy), here)
                click.echo(t("ceiling.approved.applied", here, path=approved_file, count=len(approved.amounts)),
                           err=True)
                if left:
                    click.echo(t("ceiling.approved.left", here, count=left), err=True)
            _record_round(ledger_url, round_id, policy, decisions, by, here)
    sys.exit(1 if summary.bad_rows else 0)


_ROWS_WHY = {"small": "batch.engine.why.small", "input": "batch.engine.why.input",
             "options": "batch.engine.why.options",
             "policy": "batch.engine.why.policy"}


_T = TypeVar("_T")


def _round_step(step: Callable[[], _T], lang: str) -> _T:
    """A step of recording approved amounts (engine.rounds.approved); a wrong cell ends the command, located,
    before anything is recorded."""
    from engine import RoundError

    try:
        return step()
    except RoundError as error:
        click.echo(t("cli.error", lang, message=localize(error.message, lang)), err=True)
        if error.suggestion:
            click.echo("    " + t("problem.hint", lang, hint=localize(error.suggestion, lang)), err=True)
        sys.exit(1)


def _check_ledger(url: str, round_id: str | None, lang: str) -> None:
    """Before anything is evaluated: the ledger opens (a new SQLite file is made only to record a round), and a
    round id already recorded is refused."""
    from engine import open_ledger

    done = None
    try:
        with open_ledger(url, create=round_id is not None) as ledger:
            done = ledger.round(round_id) if round_id is not None else None
    except PolicyError as error:
        _fail(error, lang)
    if done is not None:
        from engine import LedgerError, msg

        _fail(LedgerError(Problem(msg("ledger.round_exists", round=round_id, count=done["decisions"],
                                      when=done["recorded_at"], by=done["recorded_by"]),
                                  file=url, suggestion=msg("ledger.round_exists.hint"))), lang)


def _record_round(url: str, round_id: str, policy: Policy, decisions: list[Any], by: str | None, lang: str) -> None:
    from engine import engine_version, format_money, open_ledger, policy_record

    try:
        with open_ledger(url, create=True) as ledger:
            done = ledger.record_round(round_id, policy=policy_record(policy), engine_version=engine_version(),
                                       by=by, decisions=decisions)
    except PolicyError as error:
        _fail(error, lang)
    click.echo(t("ledger.use.recorded", lang, round=round_id, ledger=url, decisions=done.decisions,
                 grants=done.grants, total=format_money(done.total)), err=True)


@cli.command(name="render")
@click.argument("policy_file", metavar="POLICY", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["markdown", "html"]), default="markdown", show_default=True,
              help="html is one self-contained page (no network assets) that also prints well.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite the -o file if it exists.")
@lang_option
@library_options
def render_cmd(policy_file: str, fmt: str, output: str | None, force: bool, lang: str | None,
               policies: tuple[str, ...], with_files: tuple[str, ...]) -> None:
    """Render POLICY for review: each clause's source text beside the encoded rule, parameters, readings."""
    from engine import Library, load_with_sources, render_html, render_markdown

    try:
        policy, sources = load_with_sources(policy_file, Library(policies, with_files))
    except PolicyError as error:
        _fail(error, message_lang(lang, path=policy_file))
    document = render_html(policy, lang) if fmt == "html" else render_markdown(policy, lang)
    here = message_lang(lang, policy)
    if output is None:
        click.echo(document, nl=False)
        return
    write_new_file(output, document, force, t("cli.exists_force", here, path=output), here,
                   inputs=[policy_file, *with_files, *sources])
    click.echo(t("cli.wrote", here, path=output), err=True)


@cli.command(name="sql")
@click.argument("policy_file", metavar="POLICY", type=click.Path(dir_okay=False))
@click.option("--dialect", type=click.Choice(["duckdb", "spark", "postgres"]), default="duckdb", show_default=True,
              help="The SQL dialect (DuckDB's query transpiled by sqlglot for Spark SQL and PostgreSQL).")
@lang_option
@library_options
def sql_cmd(policy_file: str, dialect: str, lang: str | None, policies: tuple[str, ...],
            with_files: tuple[str, ...]) -> None:
    """Print POLICY as one SQL query over a table `applicants` (one row per applicant, one typed column per fact),
    giving each clause's outcome, amount, reason code and the total, for a data team to run where the data is.
    A row marked rows_engine is one the query cannot decide exactly (a fact missing, a clause it does not
    translate): evaluate that row with `policy evaluate` or `policy batch`."""
    from engine import Library, SqlUnsupported, compile_sql, load_with_sources, localize

    try:
        policy, _sources = load_with_sources(policy_file, Library(policies, with_files))
    except PolicyError as error:
        _fail(error, message_lang(lang, path=policy_file))
    here = message_lang(lang, policy)
    try:
        text = compile_sql(policy, dialect)
    except SqlUnsupported as unsupported:
        click.echo(t("cli.sql.unsupported", here, policy=policy.id, why=localize(unsupported.why, here)), err=True)
        sys.exit(1)
    from engine import sql_input_columns, sql_rows_engine

    # What the query reads, as a comment a data team sees first: the relation `applicants`, a typed column each.
    click.echo("-- " + t("cli.sql.input", here, policy=policy.id))
    for name, kind in sql_input_columns(policy).items():
        click.echo(f'--   "{name}" {kind}')
    click.echo(text)
    for clause, reason in sql_rows_engine(policy, dialect).items():
        click.echo(t("cli.sql.rows_engine", here, clause=clause, why=localize(reason, here)), err=True)


@cli.command(name="test")
@click.argument("policy_file", metavar="POLICY", type=click.Path(dir_okay=False))
@click.argument("tests", nargs=-1, type=click.Path(dir_okay=False))
@lang_option
@click.option("--no-coverage", is_flag=True, help="Do not report what the cases leave unexercised.")
@library_options
def test_cmd(policy_file: str, tests: tuple[str, ...], lang: str | None, no_coverage: bool,
             policies: tuple[str, ...], with_files: tuple[str, ...]) -> None:
    """Run officers' test cases (default: POLICY's sibling NAME.tests.yaml). Exit 1 if any fails.

    Then report what no case exercises: clause outcomes, conditions never met or failed, and bounds
    never tested at their threshold. Coverage never changes the exit code."""
    from engine import load_policy, load_suite, render_coverage, render_text, run_suite
    from engine import suite_coverage as coverage
    policy = None
    try:
        policy = load_policy(policy_file, policies=policies, with_files=with_files)
        files = list(tests) or [default_tests_path(policy_file, message_lang(lang, policy))]
        suites = [load_suite(path, for_policy=policy_file) for path in files]
    except PolicyError as error:
        _fail(error, message_lang(lang, policy, policy_file))
    lang = message_lang(lang, policy)
    passed = failed = 0
    outcomes = []
    for suite in suites:
        for outcome in run_suite(policy, suite):
            outcomes.append(outcome)
            where = f"{suite.file}:{outcome.line}"
            if outcome.passed:
                passed += 1
                click.echo(t("cli.test.pass", lang, name=outcome.name))
                continue
            failed += 1
            click.echo(t("cli.test.fail", lang, name=outcome.name, where=where))
            if outcome.error is not None:
                click.echo("  " + outcome.error.format(lang).replace("\n", "\n  "))
                continue
            for m in outcome.mismatches:
                click.echo("  " + t("cli.test.mismatch", lang, what=localize(m.what, lang),
                                    expected=localize(m.expected, lang), actual=localize(m.actual, lang)))
            if outcome.result is not None:  # a case's sheet; a round's mismatches name each applicant
                click.echo("  " + render_text(outcome.result, lang).replace("\n", "\n  ").rstrip())
    # One language throughout: the summary in the reader's; `N passed, N failed` (what CI tooling reads) is the
    # English one, so tooling runs `policy test --lang en` (the exit code says it too: 1 when any case failed).
    if lang != "en":
        click.echo(t("cli.test.summary", lang, total=passed + failed, passed=passed, failed=failed))
    else:
        click.echo(f"{passed} passed, {failed} failed")
    if not no_coverage:
        click.echo(render_coverage(coverage(policy, outcomes), lang), nl=False)
    sys.exit(1 if failed else 0)


@cli.command(name="lint")
@click.argument("policy_file", metavar="POLICY", type=click.Path(dir_okay=False))
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to judge expiry against (YYYY-MM-DD). Default: today.")
@lang_option
@library_options
def lint_cmd(policy_file: str, strict: bool, fmt: str, today: dt.datetime | None, lang: str | None,
             policies: tuple[str, ...], with_files: tuple[str, ...]) -> None:
    """Find what the schema cannot see in POLICY: unused names, clauses that can never pay, odd numbers, expiry."""
    from engine import Library, lint_counts, lint_file
    day = today.date() if today else dt.date.today()
    try:
        policy, problems = lint_file(policy_file, day, Library(policies, with_files))
    except PolicyError as error:
        _fail(error, message_lang(lang, path=policy_file))
    lang = message_lang(lang, policy)
    count = lint_counts(problems)
    if fmt == "json":
        click.echo(json.dumps({"file": policy_file, "today": day.isoformat(), "counts": count,
                               "problems": [p.to_json(lang) for p in problems]}, ensure_ascii=False, indent=2))
    else:
        for problem in problems:
            click.echo(problem.format(lang))
        summary = t("cli.list_sep", lang).join(t(_LINT_COUNT_KEYS[kind, n == 1], lang, count=n)
                                               for kind, n in count.items() if n)
        click.echo(t("cli.lint.summary", lang, file=policy_file, summary=summary or t("cli.lint.none", lang)))
    sys.exit(1 if count["error"] or (strict and count["warning"]) else 0)


@cli.command(name="fmt")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Change nothing: list the files fmt would change, exit 1 if any (for CI).")
@lang_option
def fmt_cmd(files: tuple[str, ...], check: bool, lang: str | None) -> None:
    """Lay out policy, tests and facts FILES one way (keys in the schema's order, 2-space indents), keeping every
    comment and the text as written. Rewrites each file whole; a file that is not valid YAML is left as it is."""
    from engine import format_paths, write_formatted
    failed = changed = 0
    for path, done in zip(files, format_paths(files), strict=True):
        here = message_lang(lang, path=path)
        if isinstance(done, PolicyError):
            failed += 1
            click.echo(done.format(here), err=True)
        elif done.changed:
            changed += 1
            if check:
                click.echo(t("fmt.would_change", here, path=path))
                continue
            try:
                write_formatted(done)
            except OSError as error:
                failed += 1
                click.echo(t("cli.cannot_write", here, path=path, reason=error.strerror or str(error)), err=True)
                continue
            click.echo(t("fmt.formatted", here, path=path))
    if check and changed:
        click.echo(t("fmt.check_failed.one" if changed == 1 else "fmt.check_failed", message_lang(lang),
                     count=changed), err=True)
    sys.exit(1 if failed or (check and changed) else 0)


@cli.command(name="migrate")
@click.argument("policy_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option("--from", "given", type=click.IntRange(min=1), default=None,
              help="The language version FILE is written in, when it does not say (language_version:).")
@lang_option
@library_options
def migrate_cmd(policy_file: str, given: int | None, lang: str | None, policies: tuple[str, ...],
                with_files: tuple[str, ...]) -> None:
    """Rewrite a policy FILE of an earlier language version in today's, with the meaning it had: each change
    gets today's words and a comment above them; language_version: is set. The file is replaced whole."""
    from engine import Library, migrate_text, write_migrated
    here = message_lang(lang, path=policy_file)
    try:
        done = migrate_text(policy_file, given, Library(policies, with_files))
    except PolicyError as error:
        _fail(error, here)
    if not done.changed:
        click.echo(t("versions.migrate.current", here, path=policy_file, current=done.version))
        return
    try:
        write_migrated(done)
    except OSError as error:
        click.echo(t("cli.cannot_write", here, path=policy_file, reason=error.strerror or str(error)), err=True)
        sys.exit(1)
    if done.version in (None, done.current):  # it did not say: today's (--from 3), or alike in every version
        click.echo(t("versions.migrate.declared", here, path=policy_file, current=done.current))
    else:
        click.echo(t("versions.migrate.done", here, path=policy_file, version=done.version, current=done.current,
                     count=len(done.changes)))
    for line, change in done.nearest():
        click.echo(t("versions.migrate.nearest", here, path=policy_file, line=line, change=change))


@cli.command(name="diff")
@click.argument("old_file", metavar="OLD", type=click.Path(dir_okay=False))
@click.argument("new_file", metavar="[NEW]", type=click.Path(dir_okay=False), required=False)
@click.option("--reading", "reading", default=None, metavar="ID[:N]",
              help="Instead of NEW: OLD read the other way, under alternative N (default 1) of reading ID.")
@click.option("--cases", "cases_path", type=click.Path(exists=True), default=None,
              help="A test-case file, a facts file, or a folder of either; or an application round (CSV, XLSX, "
                   "JSON Lines: run in SQL, each row on its own date): show who gains and who loses.")
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Claim date for cases that give none (YYYY-MM-DD). Default: the facts' date, else today.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True,
              help="html: one self-contained page (no network assets) with who gains and who loses drawn.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite the -o file if it exists.")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="With a round as --cases: worker processes for the rows the SQL hands to the row engine.")
@lang_option
@library_options
def diff_cmd(old_file: str, new_file: str | None, reading: str | None, cases_path: str | None,
             on: dt.datetime | None, fmt: str, output: str | None, force: bool, jobs: int, lang: str | None,
             policies: tuple[str, ...], with_files: tuple[str, ...]) -> None:
    """Show what changed in meaning between two versions of a policy, and what it does to applicants.

    OLD and NEW may be two versions of one file, or a county file and the policy it extends. With
    --reading Q3 instead of NEW: OLD against OLD read under the first alternative of its reading Q3."""
    from engine import (
        diff_html,
        diff_impact,
        diff_json,
        diff_policies,
        diff_text,
        load_cases,
        load_policy,
        load_reading,
    )
    if (new_file is None) == (reading is None):
        raise click.UsageError(t("cli.diff.new_or_reading", message_lang(lang, None, old_file)))
    old = new = None
    new_name = new_file if new_file is not None else f"{old_file} ({reading})"
    try:
        old = load_policy(old_file, policies=policies, with_files=with_files)
        new = (load_policy(new_file, policies=policies, with_files=with_files) if new_file is not None
               else load_reading(old_file, str(reading), policies=policies, with_files=with_files))
        changes = diff_policies(old, new)
        result = population = None
        if cases_path is not None:
            population = _round_diff(old, new, cases_path, message_lang(lang, new), jobs)
            if population is None:
                result = diff_impact(old, new, load_cases(cases_path), cases_path, on.date() if on else None)
    except PolicyError as error:
        # the new version speaks for the pair; if it did not load, its file's declared language does
        _fail(error, message_lang(lang, new, new_file or old_file))
    if fmt == "json":
        data = diff_json(changes, old_file, new_name, result)
        if population is not None:
            from engine import population_json
            data["impact"] = population_json(population)
        document = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    elif fmt == "html":
        document = diff_html(changes, old_file, new_name, new, result, message_lang(lang, new))
        if population is not None:
            from engine import population_html
            document = population_html(population, message_lang(lang, new), document)
    else:
        document = diff_text(changes, old_file, new_name, new, result, message_lang(lang, new))
        if population is not None:
            from engine import population_text
            document += "\n" + "\n".join(population_text(population, message_lang(lang, new))) + "\n"
    if output is None:
        click.echo(document, nl=False)
        return
    here = message_lang(lang, new)
    write_new_file(output, document, force, t("cli.exists_force", here, path=output), here,
                   inputs=[old_file, *([new_file] if new_file else []), *with_files])
    click.echo(t("cli.wrote", here, path=output), err=True)


def _round_diff(old: Policy, new: Policy, path: str, here: str, jobs: int) -> Any:
    """Who gains and who loses over an application round (CSV, XLSX, JSON Lines), in SQL where the round allows;
    None when `path` is test cases or facts files."""
    from engine import RoundError, is_round_file, population_diff
    if not is_round_file(path):
        return None
    try:
        return population_diff(old, new, path, here, jobs=jobs)
    except RoundError as error:
        click.echo(t("cli.error", here, message=localize(error.message, here)), err=True)
        if error.suggestion:
            click.echo("    " + t("problem.hint", here, hint=localize(error.suggestion, here)), err=True)
        sys.exit(1)


def default_tests_path(policy_file: str, lang: str) -> str:
    path = Path(policy_file)
    candidate = path.with_name(path.name.removesuffix(".yaml").removesuffix(".yml") + ".tests.yaml")
    if not candidate.exists():
        raise click.UsageError(t("cli.test.no_tests", lang, path=candidate))
    return str(candidate)


@cli.command(name="fork")
@click.argument("parent", metavar="PARENT")
@click.option("--id", "new_id", required=True, help="The new file's id, e.g. qingtian-2022-5.")
@click.option("--jurisdiction", "areas", multiple=True, required=True,
              help="An area the county file covers (repeatable), e.g. 青田县.")
@click.option("--document", default=None, help="The county document's number. Default: a placeholder to replace.")
@click.option("--title", default=None, help="The county document's title. Default: the parent's, marked 参照执行.")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="The file to write.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--schemas", "schemas_dir", type=click.Path(file_okay=False), default=None,
              help="Where to copy the schemas editors need, pointed at relatively. Default: schemas/ at the root of "
                   "OUTPUT's git repository (beside its policies/ folder outside one).")
@click.option("--schema-url", default=None, metavar="URL",
              help="Point $schema at URL instead (the policy schema as the bureau serves it: policy serve's "
                   "/schemas/policy.schema.json; the service's address alone is completed to it); nothing is "
                   "copied.")
@lang_option
@library_options
def fork_cmd(parent: str, new_id: str, areas: tuple[str, ...], document: str | None, title: str | None,
             output: str, force: bool, schemas_dir: str | None, schema_url: str | None, lang: str | None,
             policies: tuple[str, ...], with_files: tuple[str, ...]) -> None:
    """Write a county file that extends PARENT (a policy file, or an id found with --policies), with a $schema
    line that resolves wherever the county's repository is cloned."""
    from engine import Library, LookupFailed, area_problem, extends_value, fork_text, load_with_sources

    early = message_lang(lang, path=parent if Path(parent).is_file() else None)
    problem = area_problem(areas, early)
    if problem is not None:
        raise click.BadParameter(problem, param_hint="'--jurisdiction'")
    if Path(output).exists() and not force:
        click.echo(t("cli.fork.exists", early, path=output), err=True)
        sys.exit(1)
    library = Library(policies, with_files)
    try:
        parent_file = parent if Path(parent).is_file() else library.find_id(parent)
    except LookupFailed as exc:
        click.echo(t("cli.error", early, message=localize(exc.message, early))
                   + ("\n    " + t("problem.hint", early, hint=exc.suggestion) if exc.suggestion else ""), err=True)
        sys.exit(1)
    try:
        policy, sources = load_with_sources(parent_file, library)
    except PolicyError as error:
        _fail(error, message_lang(lang, path=parent_file))
    lang = message_lang(lang, policy)
    if new_id == policy.id:
        raise click.BadParameter(t("cli.fork.same_id", lang), param_hint="--id")
    if not re.fullmatch(ID_PATTERN, new_id):  # the written file would not validate: say so now
        raise click.BadParameter(t("cli.fork.bad_id", lang, id=new_id), param_hint="--id")
    from engine import copy_schemas, schema_ref, schemas_folder_for

    if schema_url:
        from engine import schema_url as completed

        reference = completed(schema_url)
    else:
        from engine import SCHEMA_DIR

        folder = Path(schemas_dir) if schemas_dir else schemas_folder_for(output)
        if folder is not None:
            try:
                copy_schemas(folder)
            except OSError as error:
                click.echo(t("cli.cannot_write", lang, path=str(folder), reason=error.strerror or str(error)),
                           err=True)
                sys.exit(1)
        reference = schema_ref(output, folder if folder is not None else SCHEMA_DIR)
    text = fork_text(policy, parent_file, new_id, areas, extends_value(parent_file, policy, output, library),
                     document, title, schema_ref=reference, lang=lang)
    write_new_file(output, text, force, t("cli.fork.exists", lang, path=output), lang,
                   inputs=[parent_file, *with_files, *sources])
    click.echo(t("cli.fork.wrote", lang, path=output, id=policy.id, document=policy.document,
                 count=len(policy.parameters)))


@cli.command(name="schemas")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False))
@lang_option
def schemas_cmd(folder: str, lang: str | None) -> None:
    """Copy the JSON Schemas editors need (policy files, test files) into DIR, e.g. a county repository's schemas/,
    replacing older copies; policy files point at them with a relative $schema line."""
    from engine import copy_schemas

    here = message_lang(lang)
    try:
        done = copy_schemas(folder)
    except OSError as error:
        click.echo(t("cli.cannot_write", here, path=folder, reason=error.strerror or str(error)), err=True)
        sys.exit(1)
    for path, changed in done:
        click.echo(t("cli.schemas.written" if changed else "cli.schemas.same", here, path=str(path)))


@cli.command(name="show")
@click.argument("policy_file", metavar="POLICY", type=click.Path(dir_okay=False))
@click.option("--resolved", is_flag=True,
              help="Print the effective policy after inheritance, each entry marked with the file it comes from.")
@lang_option
@library_options
def show_cmd(policy_file: str, resolved: bool, lang: str | None, policies: tuple[str, ...],
             with_files: tuple[str, ...]) -> None:
    """Print POLICY as written, or with --resolved as it is in effect after extends: is applied."""
    from engine import Library, load_policy, load_resolved, read_text, resolved_yaml

    try:
        if not resolved:
            click.echo(read_text(policy_file)[1], nl=False)
            return
        library = Library(policies, with_files)
        loaded = load_resolved(policy_file, library)
        load_policy(policy_file, library=library)  # the merged policy must also compile before it is shown
    except PolicyError as error:
        _fail(error, message_lang(lang, path=policy_file))
    click.echo(resolved_yaml(loaded), nl=False)


@cli.command(name="serve")
@click.argument("policy_dir", metavar="POLICY_DIR", default="policies",
                type=click.Path(file_okay=False, exists=True))
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="The TCP port.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on (0.0.0.0 for every interface).")
@click.option("--ledger", "ledger_url", default=None, metavar="L",
              help="Take earlier grants from this ledger by the request's credit_code, and log every evaluation "
                   "answered in its decisions.")
@click.option("--base-url", default=None, metavar="URL",
              help="The service's public address (e.g. https://policies.example.gov.cn), for the schema link of "
                   "saved facts files; without it the link is relative. Never taken from a request's Host header.")
@click.option("--log/--no-log", "log", default=True, show_default=True,
              help="One JSON line per request on stderr: time, method, route, path, status, duration_ms, policy, "
                   "revision (never the query or the body).")
@lang_option
def serve_cmd(policy_dir: str, port: int, host: str, ledger_url: str | None, base_url: str | None, log: bool,
              lang: str | None) -> None:
    """Serve the policies of POLICY_DIR over HTTP: list, facts schemas, evaluation, OpenAPI, a case worker's form."""
    here = message_lang(lang)
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise click.BadParameter(t("serve.base_url", here, value=base_url), param_hint="--base-url")
    try:
        import uvicorn

        from engine import create_app
        from engine import server_config as config
    except ImportError as error:  # the optional extra is not installed
        click.echo(t("serve.missing_library", here, name=error.name), err=True)
        sys.exit(2)
    try:
        app = create_app(policy_dir, ledger=ledger_url, base_url=base_url, log=sys.stderr if log else None)
    except PolicyError as error:  # the ledger cannot be opened
        _fail(error, here)
    held = app.state.service.policies
    for entry in held.broken():
        click.echo(t("serve.invalid_file", here, file=entry.file), err=True)
        click.echo(PolicyError(entry.problems).format(here), err=True)
    click.echo(t("serve.listening", here, host=host, port=port, count=len(held.by_id), folder=policy_dir), err=True)
    # Bounded (engine.service.server): a slow or idle client cannot hold a connection (header, body and
    # keep-alive deadlines), and past the connection limit a request gets 503 at once, as a problem document.
    uvicorn.Server(config(app, host, port)).run()


# --- the grant ledger ---------------------------------------------------------------------------------

def _ledger(location: str, lang: str, *, create: bool = False, upgrade: bool = False) -> Ledger:
    from engine import LedgerError, open_ledger

    try:
        return open_ledger(location, create=create, upgrade=upgrade)
    except LedgerError as error:
        _fail(error, lang)


@cli.group(name="ledger")
def ledger_group() -> None:
    """The grant ledger (a SQLite file or a postgresql:// URL): what was decided and paid, round by round."""


@ledger_group.command(name="init")
@click.argument("location", metavar="LEDGER")
@lang_option
def ledger_init(location: str, lang: str | None) -> None:
    """Create a ledger: a new SQLite file, or the tables in an empty PostgreSQL database."""
    here = message_lang(lang)
    with _ledger(location, here, create=True) as ledger:
        click.echo(t("cli.ledger.ready", here, ledger=ledger.where))


@ledger_group.command(name="upgrade")
@click.argument("location", metavar="LEDGER")
@lang_option
def ledger_upgrade(location: str, lang: str | None) -> None:
    """Bring a ledger made by an older engine up to this engine's schema (every record kept)."""
    here = message_lang(lang)
    with _ledger(location, here, upgrade=True) as ledger:
        click.echo(t("cli.ledger.ready", here, ledger=ledger.where))


@ledger_group.command(name="show")
@click.argument("location", metavar="LEDGER")
@click.option("--recipient", required=True, help="The recipient's 统一社会信用代码.")
@lang_option
def ledger_show(location: str, recipient: str, lang: str | None) -> None:
    """A recipient's history, newest first, and what stands by clause and fund year."""
    from engine import show_text

    here = message_lang(lang)
    with _ledger(location, here) as ledger:
        click.echo(show_text(recipient, ledger.entries(recipient=recipient, newest_first=True), here))


@ledger_group.command(name="list")
@click.argument("location", metavar="LEDGER")
@click.option("--round", "round_id", help="Only this round's entries.")
@click.option("--year", type=int, help="Only entries for this fund year.")
@click.option("--clause", help="Only entries under this clause.")
@lang_option
def ledger_list(location: str, round_id: str | None, year: int | None, clause: str | None, lang: str | None) -> None:
    """The ledger's entries, oldest first, optionally of one round, fund year or clause."""
    from engine import list_text

    here = message_lang(lang)
    with _ledger(location, here) as ledger:
        click.echo(list_text(ledger.entries(round_id=round_id, year=year, clause=clause), here))


@ledger_group.command(name="export")
@click.argument("location", metavar="LEDGER")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="FILE.xlsx or FILE.csv: written whole or not at all.")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@lang_option
def ledger_export(location: str, output: str, force: bool, lang: str | None) -> None:
    """Every entry of the ledger to an XLSX or CSV file."""
    from engine import ledger_export as export

    here = message_lang(lang)
    if not output.lower().endswith((".xlsx", ".csv")):
        raise click.BadParameter(t("cli.ledger.export_kind", here), param_hint="-o")
    if os.path.exists(output) and not force:
        click.echo(t("cli.exists_force", here, path=output), err=True)
        sys.exit(1)
    with _ledger(location, here) as ledger:
        entries = ledger.entries()
    try:
        export(entries, output, here)
    except OSError as error:
        click.echo(t("cli.cannot_write", here, path=output, reason=error.strerror), err=True)
        sys.exit(1)
    click.echo(t("cli.ledger.exported", here, count=len(entries), path=output))


def _by_option(command: CommandFn) -> CommandFn:
    return click.option("--by", help="Who records this (default: the operating system's user).")(command)


@ledger_group.command(name="correct")
@click.argument("location", metavar="LEDGER")
@click.argument("entry", type=int)
@click.option("--amount", required=True, help="The amount the grant should have been (e.g. 45万元).")
@click.option("--reason", required=True, help="Why: kept with the correction.")
@_by_option
@lang_option
def ledger_correct(location: str, entry: int, amount: str, reason: str, by: str | None, lang: str | None) -> None:
    """Correct grant ENTRY's amount: a new entry pointing at it (the grant itself is kept)."""
    from engine import AmountSyntaxError, parse_amount

    here = message_lang(lang)
    try:
        value = parse_amount(amount)
    except AmountSyntaxError as error:
        raise click.BadParameter(str(localize(error.message, here)), param_hint="--amount") from None
    with _ledger(location, here) as ledger:
        try:
            new = ledger.correct(entry, value, reason=reason, by=by)
        except PolicyError as error:
            _fail(error, here)
    click.echo(t("cli.ledger.corrected", here, entry=entry, new=new))


@ledger_group.command(name="reverse")
@click.argument("location", metavar="LEDGER")
@click.argument("entry", type=int)
@click.option("--reason", required=True, help="Why: kept with the reversal.")
@_by_option
@lang_option
def ledger_reverse(location: str, entry: int, reason: str, by: str | None, lang: str | None) -> None:
    """Reverse grant ENTRY: a new entry pointing at it; it no longer counts (the grant itself is kept)."""
    here = message_lang(lang)
    with _ledger(location, here) as ledger:
        try:
            new = ledger.reverse(entry, reason=reason, by=by)
        except PolicyError as error:
            _fail(error, here)
    click.echo(t("cli.ledger.reversed", here, entry=entry, new=new))


@ledger_group.command(name="verify")
@click.argument("location", metavar="LEDGER")
@lang_option
def ledger_verify(location: str, lang: str | None) -> None:
    """Check every entry's hash and chain: exit 1 naming each entry changed outside the engine."""
    from engine import verify_text

    here = message_lang(lang)
    with _ledger(location, here) as ledger:
        problems = ledger.verify()
        click.echo(verify_text(problems, ledger.counts(), here), err=bool(problems))
    sys.exit(1 if problems else 0)


@ledger_group.command(name="replay")
@click.argument("location", metavar="LEDGER")
@click.option("--round", "round_id", help="Every decision of this round.")
@click.option("--decision", type=int, help="One decision, by its id.")
@click.option("--policies", "policies", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="A folder of today's policy files, to compare with too (repeatable).")
@lang_option
def ledger_replay(location: str, round_id: str | None, decision: int | None, policies: tuple[str, ...],
                  lang: str | None) -> None:
    """Evaluate recorded decisions again, under the policy as recorded and today's files; exit 0 only when
    every one is the same."""
    from engine import engine_version, replay_text
    from engine import ledger_replay as replay

    here = message_lang(lang)
    if (round_id is None) == (decision is None):
        raise click.UsageError(t("cli.ledger.replay_which", here))
    with _ledger(location, here) as ledger:
        try:
            report = replay(ledger, round_id=round_id, decision=decision, policies=policies)
        except PolicyError as error:
            _fail(error, here)
    click.echo(replay_text(report, here, engine_version()))
    sys.exit(0 if report.all_same else 1)
