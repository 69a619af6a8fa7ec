"""A policy-as-data rules engine: load, validate, compile, evaluate and render subsidy policies.

The public surface, all you need to evaluate applicants from Python::

    from engine import load_policy, check_facts, evaluate, render_text

    policy = load_policy("policies/lishui-2021-67.yaml")      # read, validate and compile, once
    applicant = check_facts(policy, {"recipient": "seller", "facts": {...}})
    result = evaluate(policy, applicant, trace=False)         # outcomes and amounts; no explanation
    sheet = render_text(evaluate(policy, applicant))           # traced: the calculation sheet

Everything a policy needs per evaluation (its plan, its facts checker) is made once, on first use, and
kept with the policy, so evaluating many applicants against one loaded policy pays nothing twice.
Every mistake in a user's file raises a subclass of `PolicyError` whose `.problems` carry file, line,
column, JSON path, clause and suggestion. Names are imported on first use, so `import engine` is cheap.

This is the whole surface the command line (cli.py) and the HTTP service (engine/service/) stand on: they import
nothing else of the engine (tests/test_engine.py checks it), so a module may move inside the engine without
either noticing. Beyond evaluating: the workspace (`Library`, `load_with_sources`, `load_reading`), application
rounds (`Round`, `RoundSettings`, `open_source`, `make_output`, templates), the officers' tools (`lint_file`,
`diff_policies`, `load_suite`/`run_suite`, `fork_text`, `format_paths` for `policy fmt`, `copy_schemas` for
a county repository's schemas), the grant ledger (`open_ledger`, `earlier_for`,
`ledger_replay`, reports), the service (`create_app`, `server_config`), and the catalogue and formatter the
command words its messages with. A name whose module's own name is ambiguous here is renamed (`diff_text` is
engine.tools.diff.render_text; `lint_counts`, `diff_impact`, `diff_json`, `ledger_export`, `suite_coverage`,
`credit_code_problem`, `normalise_credit_code`, `server_config`, `round_outputs`, `ROUND_WRITERS`,
`SheetHeaders`, `write_formatted`, `approve_round` likewise).
"""

from __future__ import annotations

import gc
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.cache import keep_generated_code as keep_generated_code
    from engine.core.amounts import AmountSyntaxError as AmountSyntaxError
    from engine.core.amounts import parse_amount as parse_amount
    from engine.core.errors import CompileError as CompileError
    from engine.core.errors import EvaluateError as EvaluateError
    from engine.core.errors import FactsError as FactsError
    from engine.core.errors import InheritError as InheritError
    from engine.core.errors import LoadError as LoadError
    from engine.core.errors import PolicyError as PolicyError
    from engine.core.errors import Problem as Problem
    from engine.core.errors import SchemaError as SchemaError
    from engine.core.errors import json_path as json_path
    from engine.core.files import replace_when_done as replace_when_done
    from engine.core.format import as_written as as_written
    from engine.core.format import format_money as format_money
    from engine.core.messages import localize as localize
    from engine.core.messages import msg as msg
    from engine.core.messages import t as t
    from engine.core.suggest import did_you_mean as did_you_mean
    from engine.core.suggest import one_of as one_of
    from engine.ledger import Ledger as Ledger
    from engine.ledger import LedgerError as LedgerError
    from engine.ledger import decision_from_result as decision_from_result
    from engine.ledger import open_ledger as open_ledger
    from engine.ledger.records import engine_version as engine_version
    from engine.ledger.replay import replay as ledger_replay
    from engine.ledger.report import export as ledger_export
    from engine.ledger.report import list_text as list_text
    from engine.ledger.report import replay_text as replay_text
    from engine.ledger.report import show_text as show_text
    from engine.ledger.report import verify_text as verify_text
    from engine.ledger.use import earlier_for as earlier_for
    from engine.ledger.use import policy_record as policy_record
    from engine.model.compile import compile_policy as compile_policy
    from engine.model.compile import reading_problems as reading_problems
    from engine.model.declared import Fact as Fact
    from engine.model.facts import Applicant as Applicant
    from engine.model.facts import applicant_from as applicant_from
    from engine.model.facts import applicant_from_data as applicant_from_data
    from engine.model.facts import applicant_from_text as applicant_from_text
    from engine.model.facts import check_facts as check_facts
    from engine.model.facts import facts_for as facts_for
    from engine.model.facts import facts_schema as facts_schema
    from engine.model.facts import facts_template as facts_template
    from engine.model.policy import Policy as Policy
    from engine.present.result_json import render_json as render_json
    from engine.present.result_json import result_to_json as result_to_json
    from engine.present.review import render_html as render_html
    from engine.present.review import render_markdown as render_markdown
    from engine.present.sheet import render_text as render_text
    from engine.present.sheet_html import render_sheet_html as render_sheet_html
    from engine.present.sheet_html import render_sheet_pdf as render_sheet_pdf
    from engine.present.sheet_html import sheet_css as sheet_css
    from engine.rounds.approved import approve as approve_round
    from engine.rounds.approved import read_approved as read_approved
    from engine.rounds.columns import Headers as SheetHeaders
    from engine.rounds.columns import fixed_labels as fixed_labels
    from engine.rounds.identity import normalise as normalise_credit_code
    from engine.rounds.identity import problem as credit_code_problem
    from engine.rounds.read import RoundError as RoundError
    from engine.rounds.read import open_source as open_source
    from engine.rounds.run import Round as Round
    from engine.rounds.run import Settings as RoundSettings
    from engine.rounds.sql import SqlFallback as SqlFallback
    from engine.rounds.sql import SqlRound as SqlRound
    from engine.rounds.sql import batch_why_not as sql_round_why_not
    from engine.rounds.template import csv_template as csv_template
    from engine.rounds.template import sheet_columns as sheet_columns
    from engine.rounds.template import xlsx_template as xlsx_template
    from engine.rounds.whatif import is_round_file as is_round_file
    from engine.rounds.whatif import population_diff as population_diff
    from engine.rounds.whatif import render_html as population_html
    from engine.rounds.whatif import render_text as population_text
    from engine.rounds.whatif import to_json as population_json
    from engine.rounds.write import WRITERS as ROUND_WRITERS
    from engine.rounds.write import make_output as make_output
    from engine.rounds.write import outputs as round_outputs
    from engine.runtime.evaluate import evaluate as evaluate
    from engine.runtime.plan import Plan as Plan
    from engine.runtime.plan import prepare as prepare
    from engine.runtime.sql import SqlUnsupported as SqlUnsupported
    from engine.runtime.sql import compile_sql as compile_sql
    from engine.runtime.sql import input_columns as sql_input_columns
    from engine.runtime.sql import rows_engine as sql_rows_engine
    from engine.runtime.trace import ClauseResult as ClauseResult
    from engine.runtime.trace import Result as Result
    from engine.service.app import create_app as create_app
    from engine.service.server import config as server_config
    from engine.syntax.loader import Loaded as Loaded
    from engine.syntax.loader import load_text as load_text
    from engine.syntax.loader import read_text as read_text
    from engine.syntax.schema import SCHEMA_DIR as SCHEMA_DIR
    from engine.syntax.schema import load_schema as load_schema
    from engine.syntax.schema import schema_text as schema_text
    from engine.tools.diff import diff_policies as diff_policies
    from engine.tools.diff import impact as diff_impact
    from engine.tools.diff import load_cases as load_cases
    from engine.tools.diff import render_text as diff_text
    from engine.tools.diff import to_json as diff_json
    from engine.tools.diff_page import render_html as diff_html
    from engine.tools.fmt import format_paths as format_paths
    from engine.tools.fmt import write as write_formatted
    from engine.tools.fork import area_problem as area_problem
    from engine.tools.fork import extends_value as extends_value
    from engine.tools.fork import fork_text as fork_text
    from engine.tools.fork import resolved_yaml as resolved_yaml
    from engine.tools.lint import counts as lint_counts
    from engine.tools.lint import lint_file as lint_file
    from engine.tools.migrate import migrate_text as migrate_text
    from engine.tools.migrate import write as write_migrated
    from engine.tools.schemas import EDITOR_SCHEMAS as EDITOR_SCHEMAS
    from engine.tools.schemas import copy_schemas as copy_schemas
    from engine.tools.schemas import schema_ref as schema_ref
    from engine.tools.schemas import schema_url as schema_url
    from engine.tools.schemas import schemas_folder_for as schemas_folder_for
    from engine.tools.testing import check_suite as check_suite
    from engine.tools.testing import coverage as suite_coverage
    from engine.tools.testing import is_tests_file as is_tests_file
    from engine.tools.testing import load_suite as load_suite
    from engine.tools.testing import render_coverage as render_coverage
    from engine.tools.testing import run_suite as run_suite
    from engine.workspace import Library as Library
    from engine.workspace import LookupFailed as LookupFailed
    from engine.workspace import case_files as case_files
    from engine.workspace import load_applicant as load_applicant
    from engine.workspace import load_document as load_document
    from engine.workspace import load_policy as load_policy
    from engine.workspace import load_reading as load_reading
    from engine.workspace import load_resolved as load_resolved
    from engine.workspace import load_with_sources as load_with_sources
    from engine.workspace import policy_files as policy_files

# Each public name: the module it is loaded from on first use, and its name there when not the same.
_WHERE = {
    "AmountSyntaxError": "engine.core.amounts",
    "Applicant": "engine.model.facts",
    "applicant_from": "engine.model.facts",
    "applicant_from_data": "engine.model.facts",
    "applicant_from_text": "engine.model.facts",
    "area_problem": "engine.tools.fork",
    "as_written": "engine.core.format",
    "case_files": "engine.workspace",
    "check_facts": "engine.model.facts",
    "ClauseResult": "engine.runtime.trace",
    "compile_policy": "engine.model.compile",
    "compile_sql": "engine.runtime.sql",
    "sql_input_columns": "engine.runtime.sql:input_columns",
    "sql_rows_engine": "engine.runtime.sql:rows_engine",
    "SqlUnsupported": "engine.runtime.sql",
    "copy_schemas": "engine.tools.schemas",
    "CompileError": "engine.core.errors",
    "create_app": "engine.service.app",
    "credit_code_problem": "engine.rounds.identity:problem",
    "csv_template": "engine.rounds.template",
    "decision_from_result": "engine.ledger",
    "did_you_mean": "engine.core.suggest",
    "diff_html": "engine.tools.diff_page:render_html",
    "diff_impact": "engine.tools.diff:impact",
    "diff_json": "engine.tools.diff:to_json",
    "diff_policies": "engine.tools.diff",
    "diff_text": "engine.tools.diff:render_text",
    "earlier_for": "engine.ledger.use",
    "engine_version": "engine.ledger.records",
    "evaluate": "engine.runtime.evaluate",
    "EvaluateError": "engine.core.errors",
    "extends_value": "engine.tools.fork",
    "Fact": "engine.model.declared",
    "facts_for": "engine.model.facts",
    "facts_schema": "engine.model.facts",
    "facts_template": "engine.model.facts",
    "FactsError": "engine.core.errors",
    "fixed_labels": "engine.rounds.columns",
    "fork_text": "engine.tools.fork",
    "format_money": "engine.core.format",
    "format_paths": "engine.tools.fmt",
    "InheritError": "engine.core.errors",
    "keep_generated_code": "engine.cache",
    "Ledger": "engine.ledger",
    "ledger_export": "engine.ledger.report:export",
    "ledger_replay": "engine.ledger.replay:replay",
    "LedgerError": "engine.ledger",
    "Library": "engine.workspace",
    "lint_counts": "engine.tools.lint:counts",
    "lint_file": "engine.tools.lint",
    "list_text": "engine.ledger.report",
    "load_applicant": "engine.workspace",
    "load_cases": "engine.tools.diff",
    "load_document": "engine.workspace",
    "load_policy": "engine.workspace",
    "load_reading": "engine.workspace",
    "load_resolved": "engine.workspace",
    "load_schema": "engine.syntax.schema",
    "schema_text": "engine.syntax.schema",
    "EDITOR_SCHEMAS": "engine.tools.schemas",
    "schema_url": "engine.tools.schemas",
    "load_suite": "engine.tools.testing",
    "check_suite": "engine.tools.testing",
    "is_tests_file": "engine.tools.testing",
    "load_text": "engine.syntax.loader",
    "load_with_sources": "engine.workspace",
    "Loaded": "engine.syntax.loader",
    "LoadError": "engine.core.errors",
    "localize": "engine.core.messages",
    "LookupFailed": "engine.workspace",
    "make_output": "engine.rounds.write",
    "msg": "engine.core.messages",
    "normalise_credit_code": "engine.rounds.identity:normalise",
    "one_of": "engine.core.suggest",
    "open_ledger": "engine.ledger",
    "open_source": "engine.rounds.read",
    "is_round_file": "engine.rounds.whatif",
    "population_diff": "engine.rounds.whatif",
    "population_html": "engine.rounds.whatif:render_html",
    "population_json": "engine.rounds.whatif:to_json",
    "population_text": "engine.rounds.whatif:render_text",
    "parse_amount": "engine.core.amounts",
    "Plan": "engine.runtime.plan",
    "Policy": "engine.model.policy",
    "policy_files": "engine.workspace",
    "policy_record": "engine.ledger.use",
    "PolicyError": "engine.core.errors",
    "prepare": "engine.runtime.plan",
    "Problem": "engine.core.errors",
    "read_text": "engine.syntax.loader",
    "reading_problems": "engine.model.compile",
    "render_coverage": "engine.tools.testing",
    "render_html": "engine.present.review",
    "render_json": "engine.present.result_json",
    "render_markdown": "engine.present.review",
    "render_text": "engine.present.sheet",
    "render_sheet_html": "engine.present.sheet_html",
    "render_sheet_pdf": "engine.present.sheet_html",
    "sheet_css": "engine.present.sheet_html",
    "json_path": "engine.core.errors",
    "replace_when_done": "engine.core.files",
    "replay_text": "engine.ledger.report",
    "resolved_yaml": "engine.tools.fork",
    "Result": "engine.runtime.trace",
    "result_to_json": "engine.present.result_json",
    "Round": "engine.rounds.run",
    "SqlRound": "engine.rounds.sql",
    "SqlFallback": "engine.rounds.sql",
    "sql_round_why_not": "engine.rounds.sql:batch_why_not",
    "approve_round": "engine.rounds.approved:approve",
    "read_approved": "engine.rounds.approved",
    "round_outputs": "engine.rounds.write:outputs",
    "ROUND_WRITERS": "engine.rounds.write:WRITERS",
    "RoundError": "engine.rounds.read",
    "RoundSettings": "engine.rounds.run:Settings",
    "run_suite": "engine.tools.testing",
    "schema_ref": "engine.tools.schemas",
    "schemas_folder_for": "engine.tools.schemas",
    "SCHEMA_DIR": "engine.syntax.schema",
    "SchemaError": "engine.core.errors",
    "server_config": "engine.service.server:config",
    "sheet_columns": "engine.rounds.template",
    "SheetHeaders": "engine.rounds.columns:Headers",
    "show_text": "engine.ledger.report",
    "suite_coverage": "engine.tools.testing:coverage",
    "t": "engine.core.messages",
    "verify_text": "engine.ledger.report",
    "write_formatted": "engine.tools.fmt:write",
    "migrate_text": "engine.tools.migrate",
    "write_migrated": "engine.tools.migrate:write",
    "xlsx_template": "engine.rounds.template",
}

__all__ = [
    "AmountSyntaxError", "Applicant", "applicant_from", "applicant_from_data", "applicant_from_text", "approve_round",
    "area_problem", "as_written", "case_files", "check_facts", "check_suite", "ClauseResult", "compile_policy",
    "compile_sql", "CompileError", "copy_schemas", "create_app", "credit_code_problem", "csv_template",
    "decision_from_result", "did_you_mean", "diff_html", "diff_impact", "diff_json", "diff_policies", "diff_text",
    "earlier_for", "EDITOR_SCHEMAS", "engine_version", "evaluate", "EvaluateError", "extends_value", "Fact",
    "facts_for", "facts_schema", "facts_template", "FactsError", "fixed_labels", "fork_text", "format_money",
    "format_paths", "InheritError", "is_round_file", "is_tests_file", "json_path", "keep_generated_code",
    "Ledger", "ledger_export", "ledger_replay", "LedgerError", "Library", "lint_counts", "lint_file", "list_text",
    "load_applicant", "load_cases",
    "load_document", "load_policy", "load_reading", "load_resolved", "load_schema", "load_suite", "load_text",
    "load_with_sources", "Loaded", "LoadError", "localize", "LookupFailed", "make_output", "migrate_text", "msg",
    "normalise_credit_code", "one_of", "open_ledger", "open_source", "parse_amount", "Plan", "Policy", "policy_files",
    "policy_record", "PolicyError", "population_diff", "population_html", "population_json", "population_text",
    "prepare", "Problem", "read_approved", "read_text", "reading_problems", "render_coverage", "render_html",
    "render_json", "render_markdown", "render_sheet_html", "render_sheet_pdf", "render_text", "replace_when_done",
    "replay_text", "resolved_yaml", "Result", "result_to_json", "Round", "round_outputs", "ROUND_WRITERS", "RoundError",
    "RoundSettings", "run_suite", "SCHEMA_DIR", "schema_ref", "schema_text", "schema_url", "SchemaError",
    "schemas_folder_for", "server_config", "sheet_columns", "sheet_css", "SheetHeaders", "show_text",
    "sql_input_columns", "sql_round_why_not", "sql_rows_engine", "SqlFallback", "SqlRound", "SqlUnsupported",
    "suite_coverage", "t", "verify_text", "write_formatted", "write_migrated", "xlsx_template"
]
assert sorted(__all__) == sorted(_WHERE)


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    module, _, attr = where.partition(":")
    # Importing allocates thousands of objects that all stay alive (classes, functions, tables): the cyclic
    # garbage collector, run every 700 allocations, would scan them and find nothing to free. Paused meanwhile
    # (issue 20: every command's start pays for its imports).
    collecting = gc.isenabled()
    gc.disable()
    try:
        value = getattr(importlib.import_module(module), attr or name)
    finally:
        if collecting:
            gc.enable()
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
