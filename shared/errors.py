"""The one error shape of every service: ``{"detail": "<English sentence>", "code": "<stable
code>", "params": {...}}``.

``detail`` is the sentence people and existing clients read; ``code`` (snake_case, never changed
once shipped) and ``params`` (the numbers and names inside the sentence) let a client say the same
in its own language. An error without a code of its own gets one by its status where a general
sentence fits (429, 503, 500); others keep only ``detail``. ``params.retry_after`` repeats the
Retry-After header, in seconds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.utils import is_body_allowed_for_status_code
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

# Statuses whose every refusal a client can describe without the server's own sentence.
CODE_BY_STATUS = {429: "rate_limited", 500: "internal_error", 503: "service_unavailable"}


class Refused(HTTPException):
    """An HTTPException with a stable ``code`` and the ``params`` of its sentence."""

    def __init__(
        self,
        status_code: int,
        code: str,
        detail: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, detail, headers=dict(headers) if headers else None)
        self.code = code
        self.params = dict(params or {})


def body(
    detail: Any,
    status_code: int,
    code: str | None = None,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON body of an error: ``detail`` as given, the code (or the status's), the params."""
    shaped: dict[str, Any] = {"detail": detail}
    code = code or CODE_BY_STATUS.get(status_code)
    if code:
        shaped["code"] = code
        merged = dict(params or {})
        retry = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
        if retry and retry.isdigit():
            merged.setdefault("retry_after", int(retry))
        shaped["params"] = jsonable_encoder(merged)
    return shaped


def response(
    status_code: int,
    detail: Any,
    code: str | None = None,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(body(detail, status_code, code, params, headers), status_code=status_code, headers=headers)


async def http_error(_request: Request, exc: Exception) -> Response:
    """FastAPI's own answer to an HTTPException (same status, headers and ``detail``), with the
    code and params beside it."""
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if not is_body_allowed_for_status_code(exc.status_code):
        return Response(status_code=exc.status_code, headers=headers)
    return response(exc.status_code, exc.detail, getattr(exc, "code", None), getattr(exc, "params", None), headers)


def _validation_code(errors: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """``weak_password`` when the only trouble is a password under the length rule, else
    ``invalid_request`` naming the fields (the last name in each error's location: ``vocabulary``
    for ``["body", "vocabulary", 3]``)."""
    fields = [
        next(str(p) for p in reversed(e["loc"]) if isinstance(p, str))
        for e in errors
        if any(isinstance(p, str) for p in e.get("loc", ()))
    ]
    if fields and all(field == "password" for field in fields):
        short = [e for e in errors if e.get("type") == "string_too_short"]
        if short:
            return "weak_password", {"min_length": short[0].get("ctx", {}).get("min_length")}
    return "invalid_request", {"fields": list(dict.fromkeys(fields))}


async def validation_error(_request: Request, exc: Exception) -> Response:
    """FastAPI's own 422 (``detail`` is its list of errors), with a code and the fields named."""
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors())
    code, params = _validation_code(errors)
    return response(422, errors, code, params)
