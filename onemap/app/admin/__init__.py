"""The admin page of the web app: users, API keys, grants, access rules and the audit trail.

A client of the server's ``/api/admin`` like the rest of the app is of the OGC API: it never
imports onemap.access or the server; what an admin may do, and whether the visitor is one, is
decided by the server on every call (:mod:`onemap.app.admin.api`). One module per section
(users, keys, rules, audit), the page that holds them (page), their strings (text) and the
formatting and form pieces they share (fmt, forms).
"""

from onemap.app.admin.page import PATH, create_admin

__all__ = ["PATH", "create_admin"]
