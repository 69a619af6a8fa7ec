"""What vulture (the dead-code check in .ci/run) cannot see used: names a framework calls, and names kept on
purpose for tests and scripts. Everything else it finds is dead and removed.

Each line uses the name, so vulture counts it as used; this file is never imported.
"""

# ruff: noqa
# type: ignore

# -- called by a framework, not by our code --------------------------------------------------------------
_.__getattr__  # engine/__init__.py: Python's module __getattr__ (the public API, loaded on first use)
_.__dir__
_.media_type  # engine/service/app.py: Starlette's Response class attribute
_.limit_concurrency  # engine/service/server.py: uvicorn's Config
_.seekable  # engine/rounds/write.py: the file protocol zipfile asks a stream for
_.font, _.alignment, _.number_format, _.height  # engine/rounds/template.py: openpyxl's cell and row styles
_.preserve_quotes, _.brace_single_entry_mapping_in_flow_sequence, _.allow_unicode  # engine/tools/fmt.py: ruamel.yaml's settings
_.text_x  # engine/tools/diff_page.py: read by the diff page's template
_._connect, _._begin, _.isolation_level  # engine/ledger/store.py: SQLAlchemy event listeners
_.until, _.used_by, _.group_anchors  # engine/present/review.py: read by the Jinja2 templates
_.outcome_words, _.totals  # engine/present/sheet_html.py: read by the sheet's template
_.CATALOGUE  # engine/core/messages.py: the catalogue as data, read by tests/test_core_messages_keys.py
_.__call__  # engine/cache.py: GeneratedCode, called by dataclasses as its exec

# -- found by discovery, as award forms are: each kind of fact (engine/model/kinds/) and what it declares ----
_.Area
_.Boolean
_.Date
_.Money
_.Number
_.Percent
_.column_type
_.in_lists
_.lookup_sql  # engine/ledger/store.py: the lookup's SQL, which tests time and explain

# -- called by the generated code's text (engine/runtime/generate.py writes `S.<name>(...)`) -------------
_.nothing_earlier
_.before_cap

# -- kept for tests and scripts on purpose ----------------------------------------------------------------
_.is_valid  # engine/rounds/identity.py: a yes/no check, for tests and scripts
_.cells_of  # engine/rounds/columns.py: a row's cells as the template writes them, for tests
_.jsonl_line  # engine/rounds/write.py: one record's JSON line, the reference the fast writer is tested against
_.as_granted  # engine/ledger/records.py: a decision as the facts' granted: list, for tests/ledger_support.py

# -- dead, in modules other branches were changing when this check came: to be removed there -------------------
_.traced  # engine/runtime/trace.py: Result.traced, never set nor read
_.handed_back  # engine/rounds/sql.py: how many rows a round in SQL handed to the row engine, read by its tests
