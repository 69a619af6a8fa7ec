"""The case worker's form, generated from a policy's declared facts, and the facts file it saves."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import yaml

from engine.core.format import as_written
from engine.core.messages import t
from engine.model.facts import facts_for
from engine.model.policy import Fact, Policy

if TYPE_CHECKING:
    import jinja2

# What a field of each fact type shows after its input when the fact declares no unit of its own.
_UNIT_KEYS = {"money": "form.unit.money", "percent": "form.unit.percent"}
_EXAMPLE_KEYS = {"money": "form.example.money", "percent": "form.example.percent",
                 "number": "form.example.number", "integer": "form.example.integer"}


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    # The form's own templates, and the review page's stylesheet (one look for both pages).
    loader = jinja2.ChoiceLoader([jinja2.PackageLoader("engine.service", "templates"),
                                  jinja2.PackageLoader("engine.present", "templates")])
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def _field(fact: Fact, lang: str) -> dict[str, Any]:
    unit = fact.unit or (t(_UNIT_KEYS[fact.type], lang) if fact.type in _UNIT_KEYS else "")
    out: dict[str, Any] = {
        "name": fact.name, "type": fact.type, "label": fact.label, "unit": unit,
        "choices": list(fact.choices), "description": fact.description or "",
        "example": t(_EXAMPLE_KEYS[fact.type], lang) if fact.type in _EXAMPLE_KEYS else "",
        "min": _bound(fact, fact.minimum),
        "max": _bound(fact, fact.maximum),
    }
    if fact.type == "list":
        out["items"] = [_field(item, lang) for item in fact.items.values()]
    return out


def _bound(fact: Fact, value: Decimal | None) -> str | None:
    """A bound as the field takes it: an integer (a year, a number of months) as plain digits, 2021 not 2,021."""
    if value is None:
        return None
    return f"{value:f}" if fact.type == "integer" else as_written(value)


def form_model(policy: Policy, lang: str) -> dict[str, Any]:
    """Everything the page shows and its script needs: plain data, escaped by the template."""
    kinds = {kind: [f.name for f in facts_for(policy, kind)] for kind in policy.recipients}
    capped = [{"id": c.id, "title": c.title, "recipients": list(c.recipients)} for c in policy.clauses
              if c.award is not None and (c.cap is not None or c.period == "once")]
    return {
        "id": policy.id, "document": policy.document, "title": policy.title, "lang": lang,
        "recipients": [{"id": k, "label": r.label} for k, r in policy.recipients.items()],
        "areas": list(policy.areas), "facts": [_field(f, lang) for f in facts_for(policy)], "kinds": kinds,
        "capped": capped,
        # The script's words (the page's own are in the template).
        "unknown": t("form.unknown", lang), "yes": t("form.yes", lang), "no": t("form.no", lang),
        "remove": t("form.remove_item", lang), "empty": t("form.sheet.empty", lang),
        "pending": t("form.pending", lang), "offline": t("form.offline", lang), "updated": t("form.updated", lang),
        "problems": t("form.problems", lang),
    }


def render_form(policy: Policy, lang: str, ledger: bool = False) -> str:
    """The form; with `ledger` (serve --ledger) it asks for the credit code and shows the ledger's earlier grants
    in place of the fields for them."""
    model = form_model(policy, lang)
    model["ledger"] = ledger
    model["ledger_none"] = t("form.ledger.none", lang)
    model["ledger_heads"] = [t("form.ledger.clause", lang), t("form.ledger.year", lang), t("form.ledger.for", lang),
                             t("form.ledger.amount", lang), t("form.ledger.round", lang)]

    def say(key: str, **values: object) -> str:
        return t(key, lang, **values)

    return _environment().get_template("form.html.j2").render(m=model, t=say, lang=lang)


def render_index(policies: Sequence[Policy], lang: str) -> str:
    def say(key: str, **values: object) -> str:
        return t(key, lang, **values)

    return _environment().get_template("form_index.html.j2").render(policies=policies, t=say, lang=lang)


def facts_yaml(policy: Policy, data: Mapping[str, Any], schema_url: str) -> str:
    """A facts file of `data` (already checked against the policy), with the line that lets editors check it."""
    head = [f"# yaml-language-server: $schema={schema_url}",
            t("form.saved.head", policy.language, document=policy.document, title=policy.title)]
    body = yaml.safe_dump(dict(data), allow_unicode=True, sort_keys=False, default_flow_style=False)
    return "\n".join(head) + "\n" + body
