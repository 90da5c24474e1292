"""CQL2 and the OGC query parameters as PostgreSQL/PostGIS SQL (the SQLite translator's dialect
hooks, :class:`onemap.mapserver.sql.CqlToSql`, given PostgreSQL's answers).

Values still enter only as literals rendered by :func:`onemap.mapserver.sql.literal` (quotes
doubled; PostgreSQL's ``standard_conforming_strings`` is on, so a backslash is an ordinary
character), booleans as ``TRUE``/``FALSE``; columns are checked against the layer's schema
before they are quoted. Times are ``timestamptz`` columns compared with literals cast to it.
"""

from __future__ import annotations

from typing import Any

from pygeofilter import ast

from onemap.mapserver.sql import CqlToSql, QueryError, interval_sql, like_to_like, literal


def pg_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return literal(value)


class CqlToPg(CqlToSql):
    """The translator for a table in PostGIS."""

    def lit(self, value: Any) -> str:
        return pg_literal(value)

    def time_of(self, sql: str, column: bool) -> str:
        return pg_time(sql, column)

    def like(self, node: ast.Like) -> str:
        col = self.column(node.lhs)
        pattern = self.value(node.pattern)
        if not isinstance(pattern, str):
            raise QueryError("LIKE needs a text pattern")
        pat = like_to_like(pattern, node.wildcard, node.singlechar, node.escapechar)
        op = ("NOT " if node.not_ else "") + ("ILIKE" if node.nocase else "LIKE")
        return f"({col}::text {op} {self.lit(pat)} ESCAPE '\\')"


def pg_time(sql: str, column: bool) -> str:
    """A time comparable in PostgreSQL: the column is a timestamptz, a literal is cast."""
    return sql if column else f"CAST({sql} AS timestamptz)"


def interval_pg(column: str, datetime_: str) -> str:
    """The OGC ``datetime`` parameter on a timestamptz column."""
    return interval_sql(column, datetime_, pg_time)
