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


_GAP = "\x00"  # where the value goes in a sentence formatted ahead of it (no message holds this character)


class NotMet:
    """Which condition a clause did not meet and why, in the words of the policy's labels, for the applicants of
    a round: what is the same for all of them (a name's label and unit, a bound as shown) is worked out once."""

    def __init__(self, w: PolicyWords):
        self.w = w
        self._kinds: dict[str, tuple[str, str | None, str]] = {}
        self._shown: dict[tuple[object, str, str | None], str] = {}
        # a comparison's sentence around the value read, by (label, name, symbol, bound): the catalogue's words
        # are formatted once, and each applicant's value put in between
        self._around: dict[tuple[str, str, str, object], tuple[str, str]] = {}

    def kind(self, name: str) -> tuple[str, str | None, str]:
        found = self._kinds.get(name)
        if found is None:
            found = self._kinds[name] = self.w.kind(name)
        return found

    def bound(self, value: object, kind: str, unit: str | None) -> str:
        try:
            key = (value, kind, unit)
            found = self._shown.get(key)
        except TypeError:  # not a value a key can hold: shown each time
            return show(value, kind, unit, self.w.lang)
        if found is None:
            found = show(value, kind, unit, self.w.lang)
            if len(self._shown) < 1024:
                self._shown[key] = found
        return found

    def __call__(self, c: ConditionResult) -> str:
        w = self.w
        label = c.label or c.text
        comparison = c.comparison
        detail: str
        if comparison is not None and comparison[1] in _NOT and (len(c.reads) == 1 or len(c.derived) == 1):
            # one value against its bound: 年度跨境电商交易额 400万元 未达到 500万元
            name = c.derived[0][0] if len(c.derived) == 1 else c.reads[0][0]
            kind, unit, shown_label = self.kind(name)
            left, symbol, right = comparison
            value = show(left, kind, unit, w.lang)
            try:
                key = (label, name, symbol, right)
                around = self._around.get(key)
            except TypeError:
                key, around = None, None
            if around is None:
                detail = w.t(_NOT[symbol], name=shown_label, value=_GAP, bound=self.bound(right, kind, unit))
                head, _gap, tail = w.t("reason.condition_not_met", condition=label, detail=detail).partition(_GAP)
                around = (head, tail)
                if key is not None and len(self._around) < 1024:
                    self._around[key] = around
            return around[0] + value + around[1]
        else:
            detail = w.t("cli.list_sep").join(f"{self.kind(n)[2]} = {self.bound(v, *self.kind(n)[:2])}"
                                              for n, v in c.reads)
        if not detail:
            return w.t("reason.condition_not_met.bare", condition=label)
        return w.t("reason.condition_not_met", condition=label, detail=detail)

