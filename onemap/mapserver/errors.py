"""The ``{"code", "detail"}`` errors of the routes: :class:`ApiError` and the route class that
answers it (and FastAPI's parameter errors) as JSON 4xx.

A module of its own so that modules below the routers (tilerparams.py) can raise them without
importing the routers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute


class ApiError(Exception):
    """A request problem answered as ``{"code", "detail"}`` JSON with ``status``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def _validation_words(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())[1:]) or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


class ErrorRoute(APIRoute):
    """A route whose ApiError / parameter validation errors become 4xx ``{"code", "detail"}``.

    Dependencies run inside the route handler, so errors raised while resolving them (a bad
    ``sel``, an unknown variable) are caught here too, without app-wide exception handlers.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                return JSONResponse({"code": exc.code, "detail": exc.detail},
                                    status_code=exc.status)
            except RequestValidationError as exc:
                return JSONResponse({"code": "InvalidParameterValue",
                                     "detail": _validation_words(exc)}, status_code=400)

        return route


def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """The safety net: an exception nothing else answered is a JSON 500 — never a traceback or
    a text page. Starlette still logs the traceback; the client gets no internals."""
    return JSONResponse({"code": "InternalError",
                         "detail": "internal server error; the server log has the details"},
                        status_code=500)


#: The body of every error the server answers.
ERROR_SCHEMA = {"title": "Error", "type": "object", "required": ["code", "detail"],
                "properties": {"code": {"type": "string"}, "detail": {"type": "string"}}}
ERRORS = {"400": "A parameter or body the server cannot use; `detail` names it",
          "404": "No such dataset, item, tile or endpoint",
          "413": "The request or the image it asks for is larger than this server's limits",
          "401": "Credentials that prove nobody, or a login needed for this",
          "403": "Not allowed to the caller's roles or region, or a session's write without "
                 "its CSRF token"}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries of a route's own ``{code, detail}`` answers, beyond those every route
    has (:func:`document_errors` declares the Error schema)."""
    words = {401: "not logged in, or wrong credentials", 403: "not allowed (or CsrfFailed)",
             409: "the name is taken, or the dataset there is of another kind",
             413: ERRORS["413"], 415: "a file of a format this server does not read",
             422: "invalid values; for a file, every problem with its row and field"}
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {s: {"description": words[s], "content": body} for s in statuses}


def document_errors(app: FastAPI) -> None:
    """Declare in ``app``'s OpenAPI document the client errors every route may answer, with
    their ``{"code", "detail"}`` body, so clients (and schemathesis) know them."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = generate()
        doc.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for path, operations in doc.get("paths", {}).items():
            statuses = ("400", "404", "413") if path.startswith(("/raster", "/cube")) \
                or path == "/api/rasters" else ("400", "404")
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                # any request may carry credentials that prove nobody (401); any write may
                # lack its role or, from a browser session, its CSRF token (403)
                extra = ("401",) if method in ("get", "head") else ("401", "403")
                for status in statuses + extra:
                    responses.setdefault(status, {"description": ERRORS[status],
                                                  "content": body})
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
