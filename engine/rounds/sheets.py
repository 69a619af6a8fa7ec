"""Each applicant's calculation sheet as one HTML page, for the file the bureau keeps: the sheet for people
(engine.present.sheet_html), the same page the form shows and `policy evaluate --format html` writes."""

from __future__ import annotations

from typing import Mapping

from engine.present.sheet_html import render_sheet_html
from engine.runtime.trace import Result


def render_sheet(result: Result, lang: str, code: str, pools: Mapping[str, str], total: str | None = None) -> str:
    """The sheet of one applicant of a round: `pools` is each pooled clause's sentence of the round, and `total`
    what the applicant is awarded once the pools are shared (None when no pool changed it)."""
    return render_sheet_html(result, lang, code, pools, total)
