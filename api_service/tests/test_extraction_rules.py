"""The rules of extraction and classification that need no server: which schemas may be saved
(the shipped ones included), how an answer is checked against one, which template a label
names, and how an extraction reads in an export."""

from __future__ import annotations

from typing import Any

import pytest

from api_service.classification import choose, label_of
from api_service.db.models import Template
from api_service.extraction import SchemaProblem, check_schema, problem, to_markdown, to_pairs
from api_service.templates_seed import EXISTING_LABELS, EXTRACTION_TEMPLATES, STANDUP_SCHEMAS, SYSTEM_TEMPLATES

pytestmark = [pytest.mark.unit]


def test_the_shipped_schemas_pass_the_rules_users_schemas_must_pass() -> None:
    for schema in [t["extraction_schema"] for t in EXTRACTION_TEMPLATES] + list(STANDUP_SCHEMAS.values()):
        assert check_schema(schema) is schema
    # Every system template has a label, and no two of one language share it.
    labels = [(t["language"], *EXISTING_LABELS[t["name"]]) for t in SYSTEM_TEMPLATES]
    labels += [(t["language"], t["domain"], t["category"]) for t in EXTRACTION_TEMPLATES]
    assert len(labels) == len(set(labels)) == 16


@pytest.mark.parametrize(
    ("schema", "sentence"),
    [
        ({"type": "object", "properties": []}, "must describe an object"),
        ({"type": "object", "properties": {}}, "must describe an object"),
        ({"type": "object", "properties": {"a": {"$dynamicRef": "#x"}}}, '"$dynamicRef"'),
        ({"type": "object", "patternProperties": {"^x": {}}, "properties": {"a": {}}}, '"patternProperties"'),
        ({"type": "object", "properties": {f"f{n}": {"type": "string"} for n in range(101)}}, "more than 100 fields"),
        ({"type": "object", "properties": {"a": {"type": "string", "minLength": -1}}}, "not valid JSON Schema"),
    ],
)
def test_unusable_schemas_are_refused_with_a_sentence(schema: dict[str, Any], sentence: str) -> None:
    with pytest.raises(SchemaProblem) as refused:
        check_schema(schema)
    assert sentence in str(refused.value) and str(refused.value).endswith(".")


def test_deep_nesting_through_any_keyword_is_refused_before_it_is_walked() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(900):  # below json's own limit, above what a recursive walk should meet
        schema = {"not": schema}
    with pytest.raises(SchemaProblem, match="nested too deeply"):
        check_schema({"type": "object", "properties": {"a": schema}})


def test_an_enum_value_or_a_default_is_not_read_as_a_schema() -> None:
    schema = {"type": "object", "properties": {"a": {"enum": ["pattern", {"pattern": "x"}], "default": {"$ref": "http://x"}}}}
    assert check_schema(schema) is schema
    local = {"type": "object", "$defs": {"d": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/d"}}}
    assert check_schema(local) is local


def test_answers_are_checked_with_formats_and_the_most_relevant_error_is_named() -> None:
    schema = {
        "type": "object",
        "properties": {"when": {"type": "string", "format": "date"}, "who": {"type": "array", "items": {"type": "string"}}},
        "required": ["when"],
        "additionalProperties": False,
    }
    assert problem(schema, {"when": "2026-12-07", "who": ["Ana"]}) is None
    assert problem(schema, {"when": "next Friday"}) == "at /when: 'next Friday' is not a 'date'"
    assert problem(schema, {"who": [3]}) in (
        "at /who/0: 3 is not of type 'string'",
        "at the top level: 'when' is a required property",
    )
    assert problem(schema, {"when": "2026-12-07", "extra": 1}).startswith("at the top level: Additional properties")  # type: ignore[union-attr]
    assert problem(schema, ["not", "an", "object"]) == "at the top level: ['not', 'an', 'object'] is not of type 'object'"


def _template(name: str, domain: str, category: str, language: str, own: bool = False) -> Template:
    return Template(id=name, name=name, domain=domain, category=category, language=language, is_system=not own)


def test_a_label_names_the_template_in_the_sessions_language_the_users_own_first() -> None:
    templates = [
        _template("Sales call", "sales", "call", "en"),
        _template("销售电话", "sales", "call", "zh"),
        _template("My sales call", "sales", "call", "en", own=True),
        _template("Stand-up", "engineering", "standup", "en"),
        _template("Vente", "sales", "call", "fr", own=True),
    ]
    assert {label: t.name for label, t in choose(templates, "zh-CN").items()} == {
        "sales/call": "销售电话",
        "engineering/standup": "Stand-up",  # none in Chinese: English
    }
    assert choose(templates, "en")["sales/call"].name == "My sales call"
    assert choose(templates, "fr")["sales/call"].name == "Vente"
    assert choose(templates, "de")["sales/call"].name == "My sales call"  # no German one: English, own first
    assert label_of(templates[0]) == "sales/call"


def test_an_extraction_reads_as_labelled_fields_in_the_schemas_order() -> None:
    schema = STANDUP_SCHEMAS["Daily stand-up"]
    data = {
        "blockers": [],
        "updates": [{"person": "Ana", "done": ["export fix"], "next": []}],
        "unasked": True,
    }
    assert to_pairs(schema, data) == [
        ("Updates", "\n  - person: Ana, done: export fix, next: —"),
        ("Blockers", "—"),
        ("unasked", "yes"),
    ]
    assert (
        to_markdown(schema, data)
        == "- **Updates:**\n  - person: Ana, done: export fix, next: —\n- **Blockers:** —\n- **unasked:** yes\n"
    )
