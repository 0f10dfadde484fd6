"""Structured extraction: a template's JSON Schema (Draft 2020-12) filled from a session's
transcript by the model, validated with ``jsonschema``, with one retry that shows the model the
validation error. Only a valid object is stored (a new version per run, like summaries, with a
copy of the schema it was made with); two invalid answers store nothing and raise
``ExtractionFailed`` with a sentence that says why.

Schemas users save are checked here first (``check_schema``): a valid Draft 2020-12 schema whose
top level is an object with properties, within limits of size and depth, referring only to
itself (``$ref`` inside the document) and without regular expressions (``pattern`` runs on the
model's answer inside the API process; a pathological one could stall it)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api_service.db.models import Extraction
from api_service.llm import Completion, LLMConfig, complete
from api_service.summaries import _strip_fences, chunks, transcript_lines

MAX_SCHEMA_CHARS = 20_000
MAX_SCHEMA_DEPTH = 6  # nested objects/arrays of fields, counted from the top object
MAX_FIELDS = 100
MAX_JSON_NESTING = 32  # objects and arrays inside each other, whatever the keywords
REFUSED_KEYWORDS = ("pattern", "patternProperties", "$dynamicRef", "$dynamicAnchor")
DIALECT = "https://json-schema.org/draft/2020-12/schema"


class SchemaProblem(ValueError):
    """A schema that cannot be used for extraction; the message is a sentence for the user."""


class ExtractionFailed(ValueError):
    """The model's answers were not valid against the schema, twice."""


def _nesting(value: Any) -> int:
    """How deeply objects and arrays nest in ``value`` (counted without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_NESTING:
                stack += [(child, depth + 1) for child in (node.values() if isinstance(node, dict) else node)]
    return deepest


def check_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` when it can be used for extraction, else ``SchemaProblem`` (see the module)."""
    if _nesting(schema) > MAX_JSON_NESTING:
        raise SchemaProblem(f"The extraction schema is nested too deeply: keep it to {MAX_SCHEMA_DEPTH} levels of fields.")
    if len(json.dumps(schema, ensure_ascii=False)) > MAX_SCHEMA_CHARS:
        raise SchemaProblem(f"The extraction schema is too large: keep it under {MAX_SCHEMA_CHARS} characters of JSON.")
    if schema.get("$schema") not in (None, DIALECT, DIALECT + "#"):
        raise SchemaProblem(f"The extraction schema must be JSON Schema draft 2020-12 ($schema {DIALECT}, or none).")
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict) or not schema["properties"]:
        raise SchemaProblem('The extraction schema must describe an object: "type": "object" with at least one property.')
    fields = 0

    def walk(node: Any, depth: int, where: str) -> None:
        nonlocal fields
        if depth > MAX_SCHEMA_DEPTH:
            raise SchemaProblem(f"The extraction schema is nested too deeply at {where}: keep it to {MAX_SCHEMA_DEPTH} levels.")
        if isinstance(node, list):
            for n, item in enumerate(node):
                walk(item, depth, f"{where}/{n}")
            return
        if not isinstance(node, dict):
            return
        for keyword in REFUSED_KEYWORDS:
            if keyword in node:
                raise SchemaProblem(
                    f'The extraction schema uses "{keyword}" at {where}: regular expressions and dynamic references '
                    "are not supported; describe the format in the field's description instead."
                )
        ref = node.get("$ref")
        if ref is not None and (not isinstance(ref, str) or not ref.startswith("#")):
            raise SchemaProblem(
                f"The extraction schema refers outside itself at {where}: only references like #/$defs/name work."
            )
        if isinstance(node.get("properties"), dict):
            fields += len(node["properties"])
            if fields > MAX_FIELDS:
                raise SchemaProblem(f"The extraction schema has more than {MAX_FIELDS} fields.")
        for key, value in node.items():
            if key in ("enum", "const", "examples", "default"):
                continue  # values, not schemas
            walk(value, depth + (1 if key in ("properties", "items", "prefixItems", "$defs") else 0), f"{where}/{key}")

    walk(schema, 0, "#")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        path = "/".join(str(p) for p in exc.path)
        raise SchemaProblem(f"The extraction schema is not valid JSON Schema (at #/{path}): {exc.message}.") from None
    return schema


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def problem(schema: dict[str, Any], data: Any) -> str | None:
    """Why ``data`` is not valid against ``schema`` (the most relevant error), or None."""
    error = best_match(validator(schema).iter_errors(data))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"at {'/' + where if where else 'the top level'}: {error.message}"[:500]


@dataclass
class ExtractionResult:
    data: dict[str, Any]
    model: str
    calls: list[Completion] = field(default_factory=list)

    @property
    def prompt_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.calls)

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.calls)

    @property
    def cost_usd(self) -> float:
        return round(sum(c.cost_usd for c in self.calls), 6)


def system_prompt(schema: dict[str, Any], language: str | None) -> str:
    lang = f"the transcript's language ({language})" if language else "the language the transcript is in"
    return (
        "You extract fields from a meeting transcript. Answer with one JSON object only, valid against this "
        f"JSON Schema:\n{json.dumps(schema, ensure_ascii=False)}\n"
        "Use only what the transcript says. When it does not give a field, use null or an empty list where the "
        "schema allows it; never guess. Keep enum values exactly as listed. Write free text in "
        f"{lang}."
    )


async def ask_valid(
    config: LLMConfig, schema: dict[str, Any], messages: list[dict[str, str]], result: ExtractionResult
) -> dict[str, Any]:
    """One call, and one retry that shows the model what was wrong; ``ExtractionFailed`` after."""
    for attempt in range(2):
        completion = await complete(config, messages)
        result.calls.append(completion)
        try:
            data = json.loads(_strip_fences(completion.text))
            why = problem(schema, data)
        except json.JSONDecodeError as exc:
            why = f"not JSON ({exc.msg} at character {exc.pos})"
        if why is None:
            return data
        if attempt == 1:
            raise ExtractionFailed(f"The model's extraction was not valid against the template's schema, twice ({why}).")
        messages = [
            *messages,
            {"role": "assistant", "content": completion.text[:4000]},
            {
                "role": "user",
                "content": f"That answer is not valid against the schema: {why}. "
                "Answer again with the corrected JSON object only.",
            },
        ]
    raise AssertionError("unreachable")


async def extract(
    config: LLMConfig, segments: list[dict[str, Any]], language: str | None, schema: dict[str, Any]
) -> ExtractionResult:
    """The schema filled from the transcript; over the token budget, from each part, then merged."""
    result = ExtractionResult(data={}, model="")
    system = {"role": "system", "content": system_prompt(schema, language)}
    parts = chunks(transcript_lines(segments), config.token_budget)
    if len(parts) == 1:
        result.data = await ask_valid(
            config, schema, [system, {"role": "user", "content": "Transcript:\n" + "\n".join(parts[0])}], result
        )
    else:
        partial = [
            await ask_valid(
                config,
                schema,
                [system, {"role": "user", "content": f"Part {n} of {len(parts)} of a meeting transcript:\n" + "\n".join(part)}],
                result,
            )
            for n, part in enumerate(parts, 1)
        ]
        merge = (
            "Merge these extractions from consecutive parts of one meeting (in order) into one object: "
            "combine lists without repeats, and prefer the later part's value where two differ:\n"
        )
        result.data = await ask_valid(
            config, schema, [system, {"role": "user", "content": merge + json.dumps(partial, ensure_ascii=False)}], result
        )
    result.model = result.calls[-1].model
    return result


async def versions(db: AsyncSession, session_id: str, limit: int | None = None) -> list[Extraction]:
    statement = select(Extraction).where(Extraction.session_id == session_id).order_by(Extraction.version.desc()).limit(limit)
    return list((await db.execute(statement)).scalars())


async def latest(db: AsyncSession, session_id: str) -> Extraction | None:
    found = await versions(db, session_id, limit=1)
    return found[0] if found else None


async def store(
    db: AsyncSession, session_id: str, template_id: str | None, schema: dict[str, Any], result: ExtractionResult
) -> Extraction:
    """``result`` as the session's next extraction version (the caller commits)."""
    version = (await db.scalar(select(func.max(Extraction.version)).where(Extraction.session_id == session_id)) or 0) + 1
    stored = Extraction(
        session_id=session_id,
        version=version,
        template_id=template_id,
        model=result.model,
        schema=schema,
        data=result.data,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost_usd=result.cost_usd,
    )
    db.add(stored)
    await db.flush()
    return stored


def labelled(schema: dict[str, Any], data: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) of each field in the schema's order (its title, else its key), then any
    field the schema does not name."""
    properties = schema.get("properties") or {}
    keys = [k for k in properties if k in data] + [k for k in data if k not in properties]
    return [(str((properties.get(k) or {}).get("title") or k), data[k]) for k in keys]


def _value(value: Any, indent: str = "") -> str:
    """A field's value as text: lists of words joined with "; ", an object as "key: value, …",
    a list of objects as one indented bullet each; "—" for null or empty."""
    if value is None or value == [] or value == "" or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(v, indent + '  ')}" for k, v in value.items())
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return "; ".join(str(v) for v in value)
    if isinstance(value, list):
        return "".join(f"\n{indent}  - {_value(v, indent + '  ')}" for v in value)
    return str(value)


def to_pairs(schema: dict[str, Any], data: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value as text) of each field (nested values as indented bullets), for exports."""
    return [(label, _value(value)) for label, value in labelled(schema, data)]


def to_markdown(schema: dict[str, Any], data: dict[str, Any]) -> str:
    return (
        "\n".join(f"- **{label}:**{'' if text.startswith(chr(10)) else ' '}{text}" for label, text in to_pairs(schema, data))
        + "\n"
    )
