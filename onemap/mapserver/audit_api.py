"""``GET /api/admin/audit``: the audit trail for admins, filtered and paged, newest first.

Only admins read the audit (policy action "audit": anonymous 401, anyone else 403), and every
attempt to read it is itself recorded (``audit_read``, through the HTTP audit's hook), so
reading who did what leaves a trace too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from onemap.access import audit, policy
from onemap.config import Settings
from onemap.mapserver.auth import principal_of

#: A user name as a login may have tried it: any printable text (no control characters,
#: which PostgreSQL's text refuses).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


def audit_router(settings: Settings) -> APIRouter:
    """The admin's audit query (same filters as ``onemap audit``)."""
    router = APIRouter(tags=["admin"])

    @router.get("/api/admin/audit", summary="Query the audit trail (admins only)",
                response_model=None,
                responses={400: {"description": "invalid filter"},
                           401: {"description": "not logged in"},
                           403: {"description": "not an admin"}})
    def audit_records(
        request: Request,
        user: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE,
                                          description="user name")] = None,
        action: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$",
                                            description="e.g. login_failed")] = None,
        outcome: Literal["ok", "denied", "failed"] | None = None,
        since: Annotated[str | None, Query(max_length=40,
                                           description="ISO 8601 time, inclusive")] = None,
        until: Annotated[str | None, Query(max_length=40,
                                           description="ISO 8601 time, exclusive")] = None,
        before: Annotated[int | None, Query(ge=1, le=2**62,
                                            description="continue below this id")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Any:
        filters = {k: v for k, v in {"user": user, "action": action, "outcome": outcome,
                                     "since": since, "until": until, "before": before,
                                     "limit": limit}.items() if v is not None}
        # recorded whatever the answer (a refused attempt matters most)
        request.state.audit = {"action": "audit_read", "target": "audit",
                               "detail": {"filters": filters}}
        policy.require(principal_of(request), "audit", settings)
        try:
            records = audit.query(settings, user=user, action=action, outcome=outcome,
                                  since=since, until=until, before=before, limit=limit)
        except audit.AuditError as exc:
            return JSONResponse({"code": "InvalidParameter", "detail": str(exc)}, 400)
        nxt = None
        if len(records) == limit and records[-1]["id"] > 1:
            nxt = str(request.url.include_query_params(before=records[-1]["id"]))
        return {"records": [audit.readable(r) for r in records], "next": nxt,
                "head": audit.head(settings)["last_hash"]}

    return router
