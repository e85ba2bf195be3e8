"""Example values for the OpenAPI document, made from each schema: every request body and success
response gets one, valid against its own schema (a test validates each, additional properties
refused), so generated clients and the documentation page show a value a client may really send or
receive. A model can state its own (`json_schema_extra={"examples": [...]}`, or `Field(examples=...)`
on a field); otherwise the value is built from the schema's types, formats, patterns and bounds.
"""

from __future__ import annotations

import re
from typing import Any

# Patterns the models use, and a value that matches each. A new pattern without an entry here gets a
# plain string, which the examples test then reports as not matching.
_PATTERN_VALUES: dict[str, str] = {
    r"\S": "text",
    r"^[A-Za-z]{2}$": "IT",
    r"^[0-9a-f]{64}$": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+\S*$": "https://acme.example",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "ada@acme.example",
}
# An id pattern such as ^reg_[0-9a-f]{32}$: the prefix and 32 hexadecimal digits.
_ID_PATTERN = re.compile(r"^\^([a-z]+_)\[0-9a-f\]\{(\d+)\}\$$")
# The years of a bounded day (see openapi._RequestSchema.date_schema).
_YEARS_PATTERN = re.compile(r"^\^\(\?:[0-9|]+\)\\d\\d-$")

_FORMAT_VALUES: dict[str, str] = {
    "date": "2027-04-12",
    "date-time": "2027-04-12T09:30:00Z",
    "email": "ada@acme.example",
    "uri": "https://acme.example",
}

# A field's name says more than its type: these read as the programme's own data.
_NAMED: dict[str, str] = {
    "country": "IT",
    "nationality": "IT",
    "residence_country": "IT",
    "city": "Padova",
    "email": "ada@acme.example",
    "first_name": "Ada",
    "last_name": "Rossi",
    "name": "Acme IoT",
    "partnership_id": "epix",
    "reference": "CXC-2027-000123",
    "iban": "IT60X0542811101000000123456",
    "bic": "BPMOIT22XXX",
    "holder": "Acme IoT S.r.l.",
    "currency": "EUR",
    "filename": "evidence.pdf",
    "content_type": "application/pdf",
}

_MAX_DEPTH = 12


class Examples:
    """Builds examples against one document's components (the schemas `$ref`s point to)."""

    def __init__(self, components: dict[str, Any]) -> None:
        self._components = components

    def of(self, schema: dict[str, Any]) -> Any:
        return self._value(schema, "", 0)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self._components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _value(self, schema: dict[str, Any], name: str, depth: int) -> Any:
        schema = self._resolve(schema)
        for key in ("examples", "const", "enum"):
            if schema.get(key):
                return schema[key] if key == "const" else schema[key][0]
        if depth > _MAX_DEPTH:
            return None
        for key in ("anyOf", "oneOf"):
            if key in schema:
                # The first branch that is not null: an example shows a value, not its absence.
                branches = [b for b in schema[key] if self._resolve(b).get("type") != "null"]
                return self._value((branches or schema[key])[0], name, depth + 1)
        if "allOf" in schema:
            return self._value(schema["allOf"][0], name, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object" or "properties" in schema:
            return self._object(schema, depth)
        if kind == "array":
            item = self._value(schema.get("items", {}), name, depth + 1)
            return [item] * max(1, schema.get("minItems", 1)) if not schema.get("uniqueItems") else [item]
        if kind == "integer":
            return self._number(schema, 1)
        if kind == "number":
            return float(self._number(schema, 1))
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        return self._string(schema, name)

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        value = {key: self._value(prop, key, depth + 1) for key, prop in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties")
        if not value and isinstance(extra, dict):
            value["key"] = self._value(extra, "key", depth + 1)
        return value

    @staticmethod
    def _number(schema: dict[str, Any], preferred: int) -> int:
        low = schema.get("minimum", schema.get("exclusiveMinimum", preferred - 1) + 1)
        high = schema.get("maximum", schema.get("exclusiveMaximum", max(low, preferred) + 1) - 1)
        return int(min(max(preferred, low), high))

    @staticmethod
    def _string(schema: dict[str, Any], name: str) -> str:
        pattern = schema.get("pattern")
        if schema.get("format") in _FORMAT_VALUES:
            value = _FORMAT_VALUES[schema["format"]]
        elif pattern and _YEARS_PATTERN.match(pattern):
            value = _FORMAT_VALUES["date"]
        elif pattern and (matched := _ID_PATTERN.match(pattern)):
            value = matched.group(1) + "0123456789abcdef" * (int(matched.group(2)) // 16)
        elif name in _NAMED:
            value = _NAMED[name]
        elif name.endswith("_at"):
            value = _FORMAT_VALUES["date-time"]
        elif name == "date" or name.endswith(("_date", "_by", "_from", "_to")):
            value = _FORMAT_VALUES["date"]
        elif name == "id" or name.endswith("_id"):
            value = "0f8e4c2a9b7d4e61a3c5b2d1e0f9a8c7"
        elif pattern in _PATTERN_VALUES:
            value = _PATTERN_VALUES[pattern]
        else:
            value = name.replace("_", " ") or "text"
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if len(value) < low:
            value = value + "x" * (low - len(value))
        return value[:high] if high is not None else value
