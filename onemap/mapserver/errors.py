"""The ``{"code", "detail"}`` errors of the routes: :class:`ApiError` and the route class that
answers it (and FastAPI's parameter errors) as JSON 4xx.

A module of its own so that modules below the routers (tilerparams.py) can raise them without
importing the routers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
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
