"""The `policy` command: wiring from the command line to the engine's stages, and nothing more."""

from __future__ import annotations

import datetime as dt
import gc
import os
import re
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, NoReturn, Sequence, TypeVar

import click

from engine import t

if TYPE_CHECKING:  # the errors' record classes are made when a command runs, after main's keep_generated_code
    from engine import Policy, PolicyError

# Each command imports what it uses when it runs: `policy evaluate` should not pay for diff, lint or review. Every
# command but evaluate is in cli_commands.py, imported only when one of them runs (see _Commands).

LANG = click.Choice(["zh", "en"])
LANG_HELP = "Language of messages. Default: the policy's declared language (zh if it declares none)."
# A top-level `language:` line, read from the text of a file that did not load, so that even its
# problems are reported in the language its author writes in.
_DECLARED_LANGUAGE = re.compile(r"^language:[ \t]*['\"]?(zh|en)['\"]?[ \t]*(?:#.*)?$", re.MULTILINE)

CommandFn = TypeVar("CommandFn", bound=Callable[..., object])  # a command's function, before click makes it a command


def lang_option(command: CommandFn) -> CommandFn:
    return click.option("--lang", type=LANG, default=None, help=LANG_HELP)(command)


def message_lang(chosen: str | None, policy: Policy | None = None, path: str | None = None) -> str:
    """The language to speak: --lang if given, else the loaded policy's `language:`, else the
    `language:` line of the file at `path` (one that failed to load), else zh."""
    if chosen:
        return chosen
    if policy is not None:
        return policy.language
    if path and path != "-":
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                found = _DECLARED_LANGUAGE.search(handle.read(1024 * 1024))
        except OSError:
            found = None
        if found:
            return found.group(1)
    return "zh"


def library_options(command: CommandFn) -> CommandFn:
    """--policies DIR and --with FILE: where parents (extends:) and referenced documents are looked up."""
    command = click.option("--with", "with_files", multiple=True, type=click.Path(dir_okay=False, exists=True),
                           help="A policy file for a document that POLICY refers to (repeatable).")(command)
    return click.option("--policies", "policies", multiple=True, type=click.Path(file_okay=False, exists=True),
                        help="A folder of policy files, searched by declared id (extends:) and document "
                             "number (refers_to:) (repeatable).")(command)


def write_new_file(output: str, content: str | bytes | Callable[[IO[bytes]], None], force: bool,
                   exists_message: str, lang: str, inputs: Sequence[str] = ()) -> None:
    """Write `output` whole or not at all (engine.core.files: a temporary file beside it, renamed into place when
    complete), creating folders; never replace an existing file unless `force`. `content` is text (UTF-8, as
    given), bytes, or a function that writes to the open binary file. Exit 1 on failure, leaving the earlier
    file (or none) whatever stopped the writing."""
    from engine import replace_when_done

    real = os.path.realpath(output)
    if any(real == os.path.realpath(path) for path in inputs):  # through a link too; --force or not
        click.echo(t("cli.output_is_input", lang, path=output), err=True)
        sys.exit(1)
    try:
        try:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError as error:  # a file stands where a folder should be
            raise NotADirectoryError(error.errno, os.strerror(20)) from None
        # exclusive: an existing file is never replaced, even one made meanwhile, so nobody's annotated copy is
        # lost by accident
        with replace_when_done(output, "wb", exclusive=not force) as handle:
            if callable(content):
                content(handle)
            else:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
    except FileExistsError:
        click.echo(exists_message, err=True)
        sys.exit(1)
    except OSError as error:
        click.echo(t("cli.cannot_write", lang, path=output, reason=error.strerror or str(error)), err=True)
        sys.exit(1)


def _fail(error: PolicyError, lang: str) -> NoReturn:
    click.echo(error.format(lang), err=True)
    count = len(error.problems)
    click.echo(t("cli.problems_found.one" if count == 1 else "cli.problems_found", lang, count=count), err=True)
    sys.exit(1)


class _Commands(click.Group):
    """The `policy` command's group. `evaluate` is defined in this file; every other command lives in
    cli_commands.py, imported only when one of them is asked for (run, or listed by --help): click's lazily loaded
    subcommands, so that `policy evaluate` does not build the options of twenty other commands (issue 20)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_more().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None:
            more = _more()
            found = more.get_command(ctx, cmd_name)
            if found is None:  # a mistyped name: click suggests the nearest of the group's own commands, so all
                for name in more.list_commands(ctx):
                    self.commands.setdefault(name, more.commands[name])
        return found


def _more() -> click.Group:
    """The commands defined in cli_commands.py, installed beside this file."""
    try:
        import cli_commands
    except ModuleNotFoundError as error:
        if error.name != "cli_commands":
            raise
        # An editable install made before cli_commands.py existed maps only cli.py: found beside it instead.
        sys.path.append(os.path.dirname(os.path.abspath(__file__)))
        import cli_commands
    return cli_commands.cli


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="policy-engine", message="%(prog)s %(version)s")
def cli() -> None:
    """Policy-as-data: validate subsidy policies written as YAML and evaluate applicants against them."""


@cli.command(name="evaluate")
@click.argument("policy_file", metavar="POLICY", type=click.Path(dir_okay=False))
@click.argument("facts_file", metavar="FACTS", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "pdf"]), default="text",
              show_default=True, help="text is a calculation sheet; json follows schemas/result.schema.json; html "
                                      "is the sheet for people (the form's), pdf the same on A4 (needs -o).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the sheet to this file (whole or not at all) instead of standard output.")
@click.option("--force", is_flag=True, help="Replace the -o file if it exists.")
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The claim date (YYYY-MM-DD). Default: the facts file's date:, else today.")
@click.option("--reference", is_flag=True, default=False,
              help="Compute every expression on simpleeval, the language's reference evaluator (a cross-check).")
@click.option("--ledger", "ledger_url", default=None, metavar="L",
              help="Take earlier grants from this ledger (a SQLite file or a postgresql:// URL) by the facts' "
                   "credit_code:, instead of the facts' granted:.")
@lang_option
@library_options
def evaluate_cmd(policy_file: str, facts_file: str, fmt: str, output: str | None, force: bool,
                 on: dt.datetime | None, reference: bool, ledger_url: str | None, lang: str | None,
                 policies: tuple[str, ...], with_files: tuple[str, ...]) -> None:
    """Evaluate an applicant's FACTS (YAML or JSON, '-' for stdin) under POLICY."""
    # One applicant: the cyclic garbage collector would only slow the start (scanning again and again the thousands
    # of objects that imports and the policy make, all kept), so it waits until the command is done (issue 20).
    if gc.isenabled():
        gc.disable()
        click.get_current_context().call_on_close(gc.enable)
    from engine import FactsError, PolicyError, applicant_from, evaluate, load_document, load_policy
    if fmt == "pdf" and output is None:
        click.echo(t("sheet.pdf.needs_output", message_lang(lang, path=policy_file)), err=True)
        sys.exit(2)
    policy = None
    try:
        policy = load_policy(policy_file, policies=policies, with_files=with_files, cache=True)
        loaded = load_document(facts_file)
        code, bad = _credit_code(loaded)
        applicant = applicant_from(policy, loaded)
        day = on.date() if on else None
        if bad:
            raise FactsError([loaded.source.problem(m, ("credit_code",)) for m in bad])
        if ledger_url is not None:
            from engine import earlier_for, open_ledger

            with open_ledger(ledger_url) as ledger:
                applicant = earlier_for(ledger, policy, applicant, code,
                                        day or applicant.date or dt.date.today())
        result = evaluate(policy, applicant, on=day, reference=reference)
    except PolicyError as error:
        _fail(error, message_lang(lang, policy, policy_file))
    content: str | bytes
    if fmt == "pdf":
        content = _sheet_pdf(result, lang, code, message_lang(lang, policy))
    elif fmt == "html":
        from engine import render_sheet_html

        content = render_sheet_html(result, lang, code)
    elif fmt == "json":
        from engine import render_json

        content = render_json(result, lang, indent=2)
    else:
        from engine import render_text

        content = render_text(result, lang)
    if output is None:
        click.echo(content, nl=False)
        return
    here = message_lang(lang, policy)
    write_new_file(output, content, force, t("sheet.exists", here, path=output), here,
                   inputs=(policy_file, facts_file))


def _sheet_pdf(result: Any, lang: str | None, code: str | None, here: str) -> bytes:
    """The sheet as an A4 PDF (WeasyPrint), or a clear message when WeasyPrint or its Pango cannot be loaded."""
    try:
        import weasyprint  # noqa: F401 - loaded here to say what is missing before any work
    except (ImportError, OSError) as error:  # OSError: the Python package is there, Debian's Pango is not
        click.echo(t("sheet.pdf.unavailable", here, reason=str(error).splitlines()[0]), err=True)
        click.echo(t("sheet.pdf.unavailable.hint", here), err=True)
        sys.exit(1)
    from engine import render_sheet_pdf

    return render_sheet_pdf(result, lang, code)


def _credit_code(loaded: Any) -> tuple[str | None, list[Any]]:
    """The facts file's credit_code: (as a batch's folder of facts files carries it), taken out of its data."""
    return take_credit_code(loaded.data)


def take_credit_code(data: object) -> tuple[str | None, list[Any]]:
    """(code, problems) of a facts document's top-level credit_code:, taken out of it (the facts schema does
    not know it: it says who applies, not what)."""
    if not (isinstance(data, dict) and "credit_code" in data):
        return None, []
    from engine import credit_code_problem, msg, normalise_credit_code

    raw = data.pop("credit_code")
    code = normalise_credit_code(raw) if isinstance(raw, str) else ""
    if not code or credit_code_problem(code) is not None:
        return None, [msg("ledger.use.bad_code", code=str(raw))]
    return code, []


def _terminated(signum: int, _frame: object) -> NoReturn:
    """SIGTERM (a `timeout`, a service manager) stops a command as Ctrl-C does: in order, every file it was
    writing left as it was before (engine.core.files), with the shell's exit code for the signal."""
    raise SystemExit(128 + signum)


def main() -> None:
    """Entry point: no traceback reaches a user, for their mistake or ours."""
    import atexit
    import signal

    from engine import keep_generated_code

    keep_generated_code()  # before the engine's record classes are made: their methods' code from earlier runs
    # When the interpreter exits, its cyclic garbage collector would walk every object the command and its imports
    # made (all still alive, with nothing to free), about a tenth of a `policy evaluate` run: frozen first, it
    # leaves them. Only at exit: a program that runs main() and goes on collects as before.
    atexit.register(gc.freeze)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:  # not when embedded in a program with its own
        signal.signal(signal.SIGTERM, _terminated)
    try:
        cli(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug in the engine, not the user's mistake
        if os.environ.get("POLICY_DEBUG"):
            import traceback

            traceback.print_exc()
        # The policy's language is unknown here (the failure may be anywhere): say it in both.
        detail = f"{type(exc).__name__}: {exc}"
        click.echo("\n".join(t("cli.internal_error", lang, detail=detail) for lang in ("zh", "en")), err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
