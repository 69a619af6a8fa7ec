"""The case worker's form, generated from a policy's declared facts, and the facts file it saves."""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import yaml
from yaml.nodes import ScalarNode

from engine import Fact, Policy, facts_for, json_path, sheet_css, t

if TYPE_CHECKING:
    import jinja2


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    # The form's own templates, and the review page's stylesheet (one look for both pages).
    loader = jinja2.ChoiceLoader([jinja2.PackageLoader("engine.service", "templates"),
                                  jinja2.PackageLoader("engine.present", "templates")])
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def _field(fact: Fact, lang: str) -> dict[str, Any]:
    kind = fact.kind  # its input's unit, placeholder and bounds (engine.model.kinds)
    out: dict[str, Any] = {
        "name": fact.name, "type": fact.type, "label": fact.label, "unit": kind.form_unit(fact, lang),
        "input": kind.form_input,
        "choices": list(fact.choices), "description": fact.description or "",
        "example": kind.form_example(fact, lang),
        "min": _bound(fact, fact.minimum),
        "max": _bound(fact, fact.maximum),
    }
    if fact.items:
        out["items"] = [_field(item, lang) for item in fact.items.values()]
    return out


def _bound(fact: Fact, value: Decimal | None) -> str | None:
    """A bound as the field takes it: an integer (a year, a number of months) as plain digits, 2021 not 2,021."""
    if value is None:
        return None
    return fact.kind.form_bound(value)


def form_model(policy: Policy, lang: str) -> dict[str, Any]:
    """Everything the page shows and its script needs: plain data, escaped by the template."""
    kinds = {kind: [f.name for f in facts_for(policy, kind)] for kind in policy.recipients}
    capped = [{"id": c.id, "title": c.title, "recipients": list(c.recipients), "path": json_path(("granted", c.id))}
              for c in policy.counted_clauses()]
    return {
        "id": policy.id, "document": policy.document, "title": policy.title, "lang": lang,
        "recipients": [{"id": k, "label": r.label} for k, r in policy.recipients.items()],
        "areas": list(policy.areas), "facts": [_field(f, lang) for f in facts_for(policy)], "kinds": kinds,
        "capped": capped,
        # The script's words (the page's own are in the template).
        "unknown": t("form.unknown", lang), "yes": t("form.yes", lang), "no": t("form.no", lang),
        "remove": t("form.remove_item", lang), "empty": t("form.sheet.empty", lang),
        "pending": t("form.pending", lang), "offline": t("form.offline", lang), "updated": t("form.updated", lang),
        "problems": t("form.problems", lang), "bad_date": t("form.bad_date", lang, value="{value}"),
        "granted_label": t("form.granted", lang),
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

    return _environment().get_template("form.html.j2").render(m=model, t=say, lang=lang, css=sheet_css(lang))


def render_index(policies: Sequence[Policy], lang: str) -> str:
    def say(key: str, **values: object) -> str:
        return t(key, lang, **values)

    return _environment().get_template("form_index.html.j2").render(policies=policies, t=say, lang=lang)


# Plain scalars that some YAML reader takes for something other than text, beyond what PyYAML's own (YAML 1.1)
# resolver already knows: YAML 1.2 core numbers (1e5, 12e3, -1e2, 1e-3, 0o17, 1.), the engine's own loader's
# numbers (any Unicode digits, `_` separators) and YAML 1.1's one-letter booleans (y, n). A text that matches
# is written quoted, so every reader reads it back as the text it is.
_NOT_TEXT = re.compile(r"[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|0o[0-7]+|0x[0-9a-fA-F]+"
                       r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|[yYnN]|true|True|TRUE|false|False|FALSE"
                       r"|null|Null|NULL|~|")
_FLOAT = "tag:yaml.org,2002:float"
_STR = "tag:yaml.org,2002:str"


class _FactsDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, whose idea of a plain scalar that is not text is that of every reader (YAML 1.1,
    YAML 1.2, the engine's loader), and which writes Decimal numbers as written."""

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> Any:
        tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        if kind is ScalarNode and implicit[0] and tag == _STR and _NOT_TEXT.fullmatch(value):
            return _FLOAT  # not text to some reader: a text of this form must be quoted
        return tag


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.Node:
    text = format(value, "f")  # 100000, not 1E+5: a number to every reader (YAML 1.1 wants a dot in a float)
    # Written plain when it reads back as this number (its tag is what a plain scalar resolves to).
    return dumper.represent_scalar(dumper.resolve(ScalarNode, text, (True, False)), text)  # type: ignore[no-untyped-call]


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # A line break other than \n (NEL, LS, PS, CR) written raw in a quoted scalar is folded to a space by the
    # reader: such a text is written double-quoted, where it is escaped (\N, \L, \P, \r).
    style = '"' if any(c in value for c in "\x85\u2028\u2029\r") else None
    return dumper.represent_scalar(_STR, value, style=style)


_FactsDumper.add_representer(Decimal, _decimal)
_FactsDumper.add_representer(str, _text)


def facts_yaml(policy: Policy, data: Mapping[str, Any], schema_url: str) -> str:
    """A facts file of `data` (already checked against the policy), with the line that lets editors check it.
    Every text is written so that every YAML reader, the engine's included, reads it back as that text."""
    head = [f"# yaml-language-server: $schema={schema_url}",
            t("form.saved.head", policy.language, document=policy.document, title=policy.title)]
    body = yaml.dump(dict(data), Dumper=_FactsDumper, allow_unicode=True, sort_keys=False,
                     default_flow_style=False)
    return "\n".join(head) + "\n" + body


def with_credit_code(saved: str, code: str | None) -> str:
    """A saved facts file (facts_yaml) with the applicant's credit code as its first entry, as `policy evaluate`
    reads it (`--ledger` looks the earlier grants up by it; a batch's folder of facts files carries it too)."""
    if code is None:
        return saved
    lines = saved.split("\n")
    head = 0
    while head < len(lines) and lines[head].startswith("#"):
        head += 1
    entry = yaml.dump({"credit_code": code}, Dumper=_FactsDumper, allow_unicode=True).rstrip("\n")
    return "\n".join([*lines[:head], entry, *lines[head:]])
