"""Check a playbook document against the JSON Schema and the rules, in the user's words.

The schema (`playbook.schema.json`, shipped inside this package and published as
schemas/playbook.schema.json) is the contract; `rules` adds what a schema cannot say. Every
jsonschema error is turned into a `Problem` that points at the offending node (line:col from
the YAML node map) and says, for a trader rather than a schema author, what is wrong and how
to fix it. This module must never build the model and never import anything that talks to a
network, a scheduler or the simulator (`runner validate` stays fast and offline).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

# jsonschema ships no type hints (types-jsonschema is not a dependency)
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

from runner.playbook.errors import FieldPath, Problem, sort_problems
from runner.playbook.load import Document
from runner.playbook.rules import rule_problems

SCHEMA_RESOURCE = "playbook.schema.json"

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}
_TYPE_FIXES = {
    "object": "write its fields as 'field: value' lines indented under it",
    "array": "write the items as '- ' lines indented under it",
    "string": "write it as text",
    "integer": "write a whole number such as 10",
    "number": "write a number such as 2500 or 0.05",
    "boolean": "write true or false",
}
_PATTERN_FIXES = {
    "name": "use lowercase letters, digits and hyphens, starting with a letter or digit",
    "key": "use lowercase letters, digits and hyphens, starting with a letter or digit",
    "account": "use letters, digits, '_', '.' and '-', starting with a letter or digit",
    "every": "write a whole number and a unit s, m or h, e.g. 30s, 5m or 1h",
}
_YAML11_BOOLEAN_WORDS = frozenset({"yes", "no", "on", "off", "y", "n"})


@cache
def load_schema() -> dict[str, Any]:
    """The playbook JSON Schema, read from the installed package."""
    text = resources.files("runner.playbook").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def validate_document(document: Document) -> list[Problem]:
    """Every problem of a document (reading, schema, then rules), sorted by position.

    A field already reported by an earlier stage is not reported again by a later one (an
    unset variable is not also "expected text, found nothing"; a value the schema refused
    is not also refused by a rule).
    """
    problems = list(document.problems)
    flagged = {problem.field_path for problem in problems}
    for error in _validator().iter_errors(document.data):
        problems.extend(p for p in _explain(error, document) if p.field_path not in flagged)
    flagged = {problem.field_path for problem in problems}
    problems.extend(p for p in rule_problems(document) if p.field_path not in flagged)
    return sort_problems(problems)


def _explain(error: ValidationError, doc: Document) -> list[Problem]:
    path: FieldPath = tuple(error.absolute_path)
    validator = error.validator
    value = error.instance
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    if validator in ("oneOf", "anyOf"):
        return _explain_alternatives(error, doc)
    if validator == "additionalProperties" and isinstance(value, dict):
        return list(_unknown_fields(path, value, schema, doc))
    if validator == "required" and isinstance(value, dict):
        return [
            doc.problem(
                (*path, name),
                "required field is missing",
                f"add '{name}:' here",
                at_key=True,
            )
            for name in error.validator_value
            if name not in value
        ]
    if validator == "propertyNames":  # reported through its `pattern` child; kept for safety
        return []
    if validator == "pattern" and "propertyNames" in error.schema_path:
        return [_bad_symbol_name(path, str(value), doc)]
    message, fix = _describe(validator, value, schema, error, path)
    return [doc.problem(path, message, fix)]


def _describe(
    validator: Any, value: Any, schema: dict[str, Any], error: ValidationError, path: FieldPath
) -> tuple[str, str]:
    field = next((p for p in reversed(path) if isinstance(p, str)), "")
    if validator == "type":
        return _type_message(error.validator_value, value)
    if validator == "enum":
        return _enum_message(value, [str(v) for v in error.validator_value])
    if validator == "const":
        return f"{show(value)} is not supported", f"write {field}: {show(error.validator_value)}"
    if validator == "maximum":
        return f"{show(value)} is above the maximum {error.validator_value}", range_fix(schema)
    if validator == "exclusiveMaximum":
        return f"{show(value)} must be below {error.validator_value}", range_fix(schema)
    if validator == "minimum":
        return f"{show(value)} is below the minimum {error.validator_value}", range_fix(schema)
    if validator == "exclusiveMinimum":
        return f"{show(value)} must be greater than {error.validator_value}", range_fix(schema)
    if validator == "pattern":
        return _pattern_message(field, value)
    if validator == "maxLength":
        return (
            f"{show(value)} has {len(value)} characters, the maximum is {error.validator_value}",
            "shorten it",
        )
    if validator == "minLength":
        return "must not be empty", "write a value"
    if validator == "minItems":
        return "the list is empty", "give at least one item, or remove the field"
    if validator == "maxItems":
        return (
            f"{len(value)} blocks for one symbol",
            "give at most one CROSS and one ISOLATED block",
        )
    if validator == "minProperties":
        return "is empty", _EMPTY_FIXES.get(field, "fill it in, or remove the field")
    return error.message, ""


_EMPTY_FIXES = {
    "symbols": "declare at least one symbol, e.g. PERP_ETH_USDC",
    "margin": "give liq_distance, leverage_band, margin_bounds or max_margin, or remove 'margin'",
    "leverage_band": "give min, max or both",
    "margin_bounds": "give min, max or both",
}


def show(value: Any) -> str:
    """A value as the user wrote it (near enough), for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _found(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {show(value)}"
    if isinstance(value, list | dict):
        return show(value)
    if value is None:
        return "nothing"
    return show(value)


def _type_message(expected: Any, value: Any) -> tuple[str, str]:
    types = [expected] if isinstance(expected, str) else list(expected)
    if "number" in types:  # ["number", "string"] is a decimal: numeric text is welcome
        types = ["number"]
    words = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
    fix = _TYPE_FIXES.get(types[0], "")
    if types == ["boolean"] and isinstance(value, str) and value.lower() in _YAML11_BOOLEAN_WORDS:
        fix = "write true or false; yes/no/on/off are text in a playbook"
    elif types == ["string"] and value is not None and not isinstance(value, list | dict):
        fix = "put it in quotes"
    return f"expected {words}, found {_found(value)}", fix


def _enum_message(value: Any, options: list[str]) -> tuple[str, str]:
    listed = ", ".join(options)
    if isinstance(value, str):
        same_case = [o for o in options if o.lower() == value.lower()]
        close = same_case or difflib.get_close_matches(value.upper(), options, n=1, cutoff=0.6)
        if close:
            return f"{show(value)} is not one of {listed}", f"did you mean '{close[0]}'?"
    return f"{show(value)} is not one of {listed}", f"use one of {listed}"


def _pattern_message(field: str, value: Any) -> tuple[str, str]:
    if field in _PATTERN_FIXES:
        fix = _PATTERN_FIXES[field]
        if field in ("name", "key") and isinstance(value, str):
            suggestion = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
            if suggestion:
                fix = f"did you mean '{suggestion}'? {fix}"
        return f"{show(value)} is not a valid {field}", fix
    # otherwise the decimal-text pattern: a number written as a string
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return f"{show(value)} is not a number", _TYPE_FIXES["number"]
    if number.is_finite() and number < 0:
        return f"{show(value)} is negative", "use a number of 0 or more"
    return f"{show(value)} is not a plain decimal number", _TYPE_FIXES["number"]


def range_fix(schema: dict[str, Any]) -> str:
    """'use an integer from 1 to 100' and the like, from a schema's bounds."""
    kind = "an integer" if schema.get("type") == "integer" else "a number"
    low, above, high = schema.get("minimum"), schema.get("exclusiveMinimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"use {kind} from {low} to {high}"
    bounds = []
    if low is not None:
        bounds.append(f"of at least {low}")
    if above is not None:
        bounds.append(f"greater than {above}")
    if high is not None:
        bounds.append(f"at most {high}")
    return f"use {kind} {' and '.join(bounds)}" if bounds else ""


def _unknown_fields(
    path: FieldPath, value: dict[str, Any], schema: dict[str, Any], doc: Document
) -> Iterator[Problem]:
    valid = list(schema.get("properties", {}))
    for name in value:
        if name in valid:
            continue
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        if not path and name.startswith("PERP_"):
            hint = "symbols go under 'symbols:'; "
        yield doc.problem(
            (*path, name), "unknown field", f"{hint}valid fields: {', '.join(valid)}", at_key=True
        )


def _bad_symbol_name(path: FieldPath, name: str, doc: Document) -> Problem:
    base = name.upper().replace("-", "_").replace("/", "_").removeprefix("PERP_")
    for suffix in ("_USDC", "_USDT", "_USD", "_PERP"):
        base = base.removesuffix(suffix)
    suggestion = f"PERP_{base}_USDC"
    hint = f"did you mean '{suggestion}'? " if base.isalnum() and base.isascii() else ""
    return doc.problem(
        (*path, name),
        "not an Orderly perpetual symbol",
        f"{hint}write PERP_<BASE>_USDC in capitals, e.g. PERP_ETH_USDC",
        at_key=True,
    )


def _explain_alternatives(error: ValidationError, doc: Document) -> list[Problem]:
    """A oneOf/anyOf failure: explain the branch the value was meant for, not every branch."""
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        branch = sub.relative_schema_path[0]
        if isinstance(branch, int):
            by_branch.setdefault(branch, []).append(sub)
    options = error.validator_value if isinstance(error.validator_value, list) else []
    meant: list[list[ValidationError]] = []
    expected: list[Any] = []
    for index in range(len(options)):
        subs = by_branch.get(index, [])
        wrong_type = [s for s in subs if s.validator == "type" and not s.relative_path]
        if wrong_type:
            expected.extend(
                [wrong_type[0].validator_value]
                if isinstance(wrong_type[0].validator_value, str)
                else wrong_type[0].validator_value
            )
        elif subs:
            meant.append(subs)
    path: FieldPath = tuple(error.absolute_path)
    if len(meant) == 1:
        return [problem for sub in meant[0] for problem in _explain(sub, doc)]
    words = " or ".join(dict.fromkeys(_TYPE_WORDS.get(str(t), str(t)) for t in expected))
    if len(path) == 2 and path[0] == "symbols":
        fix = "write a block with margin_mode and leverage under the symbol, or a list of blocks"
    elif path == ("schedule",):
        fix = "write a cron string such as '*/5 * * * *', or every: 30s indented under schedule"
    else:
        fix = ""
    return [
        doc.problem(
            path, f"expected {words or 'another form'}, found {_found(error.instance)}", fix
        )
    ]
