"""Evaluating one applicant: the date it is for, then the path that decides it — the policy's generated code
(engine.runtime.generate) untraced, else the interpreter (engine.runtime.interpret), which is the reference and
the only path that explains. Both decide a clause the same way; tests/test_runtime_generate.py holds them to it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Callable

from engine.model.facts import Applicant
from engine.model.policy import Policy
from engine.runtime.interpret import interpret
from engine.runtime.trace import Result

if TYPE_CHECKING:
    from engine.runtime.generate import Generated


def evaluate(policy: Policy, applicant: Applicant, on: dt.date | None = None,
             today: dt.date | None = None, *, trace: bool = True, reference: bool = False,
             generated: bool = True) -> Result:
    """Evaluate every clause for this applicant on a date: `on`, else the facts' date, else today.

    `trace=False` skips the explanation (conditions' values, calculation steps): outcomes, amounts and
    missing facts are the same. `reference=True` computes every expression on simpleeval, the reference
    evaluator of the language, instead of the compiled closures: slower, and the same answer (a cross-check;
    `policy evaluate --reference` offers it). Untraced, the policy's generated code decides
    (engine.runtime.generate), handing to the interpreter what it does not decide; `generated=False` keeps to
    the interpreter (the reference the generated code is tested against).
    """
    if on is not None:
        day, source = on, "option"
    elif applicant.date is not None:
        day, source = applicant.date, "facts"
    else:
        day, source = today or dt.date.today(), "today"
    if not trace and generated and not reference:
        code = (_generator or _generator_imported())(policy)
        if code is not None:
            found = code.evaluate(applicant, day, source)
            if found is not None:
                return found
    return interpret(policy, applicant, day, source, trace=trace, reference=reference)


_generator: Callable[[Policy], Generated | None] | None = None  # engine.runtime.generate.generated, once imported


def _generator_imported() -> Callable[[Policy], Generated | None]:
    """The generated code's maker, imported on the first untraced evaluation: a traced one never needs it (a
    `policy evaluate` process does not pay for its import)."""
    global _generator
    from engine.runtime.generate import generated

    _generator = generated
    return generated
