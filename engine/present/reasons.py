"""A condition not met, in one line for a round's 说明 column: its label from the policy and the values read
(年度跨境电商交易额达500万元以上：年度跨境电商交易额 4,000,000.00元（400万元）未达到 5,000,000.00元（500万元））."""

from __future__ import annotations

from engine.core.format import show
from engine.present.words import PolicyWords
from engine.runtime.trace import ConditionResult

# What `left SYMBOL right` being false says, in words (engine.lang.tree.SYMBOLS are the symbols shown).
# A membership (属于) is shown by the values read: its right side is a list.
_NOT = {"≥": "reason.not.ge", ">": "reason.not.gt", "≤": "reason.not.le", "<": "reason.not.lt",
        "=": "reason.not.eq", "≠": "reason.not.ne"}


def condition_not_met(w: PolicyWords, c: ConditionResult) -> str:
    """Which condition a clause did not meet and why, in the words of the policy's labels."""
    label = c.label or c.text
    comparison = c.comparison
    detail: str
    if comparison is not None and comparison[1] in _NOT and (len(c.reads) == 1 or len(c.derived) == 1):
        # one value against its bound: 年度跨境电商交易额 400万元 未达到 500万元
        name = c.derived[0][0] if len(c.derived) == 1 else c.reads[0][0]
        kind, unit, shown_label = w.kind(name)
        left, symbol, right = comparison
        detail = w.t(_NOT[symbol], name=shown_label, value=show(left, kind, unit, w.lang),
                     bound=show(right, kind, unit, w.lang))
    else:
        detail = w.t("cli.list_sep").join(f"{w.label(n)} = {w.value(n, v)}" for n, v in c.reads)
    if not detail:
        return w.t("reason.condition_not_met.bare", condition=label)
    return w.t("reason.condition_not_met", condition=label, detail=detail)
