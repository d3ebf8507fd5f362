"""The published schema is the packaged one, is valid 2020-12, and documents every field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from runner.playbook.validate import load_schema

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "schemas" / "playbook.schema.json"
PACKAGED = ROOT / "runner" / "playbook" / "playbook.schema.json"


def test_published_schema_is_byte_identical_to_the_packaged_one() -> None:
    assert PUBLISHED.read_bytes() == PACKAGED.read_bytes()


def test_schema_is_valid_draft_2020_12() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def _property_maps(node: Any, where: str = "#") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            found.append((where, node["properties"]))
        for key, value in node.items():
            found.extend(_property_maps(value, f"{where}/{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_property_maps(value, f"{where}/{index}"))
    return found


def test_every_property_has_a_description() -> None:
    maps = _property_maps(json.loads(PUBLISHED.read_text()))
    missing = [
        f"{where}/{name}"
        for where, props in maps
        for name, sub in props.items()
        if not sub.get("description")
    ]
    assert len(maps) >= 8
    assert missing == []


def test_every_object_refuses_unknown_fields() -> None:
    maps = _property_maps(load_schema())

    def objects(node: Any) -> list[dict[str, Any]]:
        out = []
        if isinstance(node, dict):
            if node.get("type") == "object":
                out.append(node)
            for value in node.values():
                out.extend(objects(value))
        elif isinstance(node, list):
            for value in node:
                out.extend(objects(value))
        return out

    assert maps
    for obj in objects(load_schema()):
        # `symbols` takes any symbol name, each checked by propertyNames and its own schema
        assert obj.get("additionalProperties") is False or "propertyNames" in obj
