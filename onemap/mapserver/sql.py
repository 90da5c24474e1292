"""Safe SQL building for the GeoPackage provider: quoting, CQL → SQLite ``WHERE``.

pyogrio cannot bind parameters to the SQL it hands to GDAL, so every value that comes from a
request is rendered here as a SQL *literal* (strings with doubled quotes, numbers checked finite)
and every column name is checked against the layer's schema before being quoted. Nothing from a
request is ever concatenated into SQL any other way.

Attribute predicates of a pygeofilter AST become SQL so that SQLite does filtering, counting,
sorting and paging without reading the whole layer. Spatial predicates cannot be evaluated by
SQLite here (no SpatiaLite), so the translator asks a callback to resolve each one into a SQL
condition on the feature ids (see :mod:`onemap.mapserver.provider`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from pygeofilter import ast, values

#: Column types that hold time values (compared through ``julianday`` so formats need not match).
TIME_TYPES = {"datetime", "date"}


class QueryError(ValueError):
    """The request cannot be turned into a query (unknown field, unsupported operator…)."""


def quote_ident(name: str) -> str:
    """Quote an identifier that is already known to exist (table or column name)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """Render a Python value as a SQLite literal; the only way request values enter SQL."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QueryError("numbers must be finite")
        return repr(float(value))
    if isinstance(value, datetime | date | time):
        value = value.isoformat()
    if isinstance(value, timedelta):
        raise QueryError("durations are not supported in filters")
    text = str(value)
    if "\x00" in text:
        raise QueryError("NUL characters are not allowed in filters")
    return "'" + text.replace("'", "''") + "'"


def coerce(value: str, field_type: str) -> Any:
    """Turn a query-string value into the column's type (``?pm25=35`` compares numbers)."""
    try:
        if field_type == "integer":
            return int(value)
        if field_type == "number":
            return float(value)
    except ValueError:
        raise QueryError(f"{value!r} is not a valid {field_type}") from None
    return value


def _like_tokens(pattern: str, wildcard: str, single: str, escape: str
                 ) -> Iterator[tuple[str, str]]:
    """A CQL LIKE pattern as ("any" | "one" | "char", character) tokens; escapes resolved."""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if escape and ch == escape and i + 1 < len(pattern):
            i += 1
            yield "char", pattern[i]
        elif ch == wildcard:
            yield "any", ch
        elif ch == single:
            yield "one", ch
        else:
            yield "char", ch
        i += 1


def like_to_glob(pattern: str, wildcard: str, single: str, escape: str) -> str:
    """A CQL LIKE pattern as a (case-sensitive) SQLite GLOB pattern."""
    out = {"any": "*", "one": "?"}
    return "".join(out.get(kind) or (f"[{ch}]" if ch in "*?[" else ch)
                   for kind, ch in _like_tokens(pattern, wildcard, single, escape))


def like_to_like(pattern: str, wildcard: str, single: str, escape: str) -> str:
    """A CQL LIKE pattern as a SQLite LIKE pattern using ``\\`` as its escape character."""
    out = {"any": "%", "one": "_"}
    return "".join(out.get(kind) or ("\\" + ch if ch in "%_\\" else ch)
                   for kind, ch in _like_tokens(pattern, wildcard, single, escape))


SpatialResolver = Callable[[ast.Node], str]

_COMPARISON = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
               ast.GreaterThan: ">", ast.GreaterEqual: ">="}
_SPATIAL = (ast.SpatialComparisonPredicate, ast.BBox, ast.Relate, ast.SpatialDistancePredicate)


class CqlToSql:
    """Translate a pygeofilter AST into a SQLite boolean expression.

    ``fields`` maps each queryable column to its JSON-schema type; ``time_fields`` lists those
    holding datetimes; ``spatial`` resolves a spatial predicate to a SQL condition.
    """

    def __init__(self, fields: dict[str, str], time_fields: Iterable[str],
                 spatial: SpatialResolver, geometry_names: Iterable[str] = ()) -> None:
        self.fields = fields
        self.time_fields = set(time_fields)
        self.spatial = spatial
        self.geometry_names = set(geometry_names)

    def __call__(self, node: Any) -> str:
        return self.node(node)

    # -- values ---------------------------------------------------------------------------
    def column(self, node: Any) -> str:
        if not isinstance(node, ast.Attribute):
            raise QueryError("the left side of a comparison must be a property name")
        if node.name not in self.fields:
            raise QueryError(f"unknown property {node.name!r}")
        return quote_ident(node.name)

    def value(self, node: Any) -> Any:
        if isinstance(node, ast.Function) and node.name.upper() in {"TIMESTAMP", "DATE"}:
            if len(node.arguments) != 1:
                raise QueryError(f"{node.name} takes one argument")
            return self.value(node.arguments[0])
        if isinstance(node, ast.Node | values.Geometry | values.Envelope):
            raise QueryError("only literal values may be compared with a property")
        if isinstance(node, list | tuple):
            raise QueryError("arrays are not supported")
        return node

    # -- the dialect: SQLite here, PostgreSQL in onemap.store.pg_sql -----------------------
    def lit(self, value: Any) -> str:
        return literal(value)

    def time_of(self, sql: str, column: bool) -> str:
        """A time value comparable with others: SQLite compares julian days (stored text)."""
        return _julianday(sql, column)

    def operand(self, node: Any, timed: bool) -> str:
        """An attribute or a literal; time values made comparable when ``timed``."""
        column = isinstance(node, ast.Attribute)
        sql = self.column(node) if column else self.lit(self.value(node))
        return self.time_of(sql, column) if timed else sql

    def is_time(self, *nodes: Any) -> bool:
        return any(isinstance(n, ast.Attribute) and n.name in self.time_fields for n in nodes)

    # -- nodes ----------------------------------------------------------------------------
    def node(self, node: Any) -> str:  # noqa: C901 - one branch per AST node family
        if isinstance(node, ast.And | ast.Or):
            op = "AND" if isinstance(node, ast.And) else "OR"
            return f"({self.node(node.lhs)} {op} {self.node(node.rhs)})"
        if isinstance(node, ast.Not):
            return f"(NOT {self.node(node.sub_node)})"
        if isinstance(node, ast.Include):
            return "(1=0)" if node.not_ else "(1=1)"
        if isinstance(node, ast.Comparison):
            timed = self.is_time(node.lhs, node.rhs)
            return (f"({self.operand(node.lhs, timed)} {_COMPARISON[type(node)]} "
                    f"{self.operand(node.rhs, timed)})")
        if isinstance(node, ast.Between):
            timed = self.is_time(node.lhs)
            neg = "NOT " if node.not_ else ""
            return (f"({self.operand(node.lhs, timed)} {neg}BETWEEN "
                    f"{self.operand(node.low, timed)} AND {self.operand(node.high, timed)})")
        if isinstance(node, ast.In):
            timed = self.is_time(node.lhs)
            items = ", ".join(self.operand(v, timed) for v in node.sub_nodes)
            neg = "NOT " if node.not_ else ""
            return f"({self.operand(node.lhs, timed)} {neg}IN ({items}))"
        if isinstance(node, ast.IsNull):
            return f"({self.column(node.lhs)} IS {'NOT ' if node.not_ else ''}NULL)"
        if isinstance(node, ast.Like):
            return self.like(node)
        if isinstance(node, ast.TemporalPredicate):
            return self.temporal(node)
        if isinstance(node, _SPATIAL):
            return self.spatial(node)
        raise QueryError(f"unsupported filter operator {type(node).__name__}")

    def like(self, node: ast.Like) -> str:
        col = self.column(node.lhs)
        pattern = self.value(node.pattern)
        if not isinstance(pattern, str):
            raise QueryError("LIKE needs a text pattern")
        neg = "NOT " if node.not_ else ""
        if node.nocase:
            pat = like_to_like(pattern, node.wildcard, node.singlechar, node.escapechar)
            return f"({col} {neg}LIKE {self.lit(pat)} ESCAPE '\\')"
        pat = like_to_glob(pattern, node.wildcard, node.singlechar, node.escapechar)
        return f"({col} {neg}GLOB {self.lit(pat)})"

    def temporal(self, node: ast.TemporalPredicate) -> str:
        col = self.operand(node.lhs, True)
        rhs = node.rhs
        if isinstance(rhs, values.Interval):
            start = self.time_of(self.lit(self.value(rhs.start)), False) \
                if rhs.start is not None else None
            end = self.time_of(self.lit(self.value(rhs.end)), False) \
                if rhs.end is not None else None
        else:
            start = end = self.time_of(self.lit(self.value(rhs)), False)
        parts: list[str] = []
        if isinstance(node, ast.TimeAfter):
            parts.append(f"{col} > {end}" if end else "1=0")
        elif isinstance(node, ast.TimeBefore):
            parts.append(f"{col} < {start}" if start else "1=0")
        elif isinstance(node, ast.TimeEquals):
            parts.append(f"{col} = {start}")
        elif isinstance(node, ast.TimeDuring | ast.TimeBeforeOrDuring | ast.TimeDuringOrAfter):
            if start and not isinstance(node, ast.TimeBeforeOrDuring):
                parts.append(f"{col} >= {start}")
            if end and not isinstance(node, ast.TimeDuringOrAfter):
                parts.append(f"{col} <= {end}")
        else:
            raise QueryError(f"unsupported temporal operator {type(node).__name__}")
        return "(" + (" AND ".join(parts) or "1=1") + ")"


def _julianday(sql: str, column: bool) -> str:
    del column
    return f"julianday({sql})"


def interval_sql(column: str, datetime_: str,
                 time_of: Callable[[str, bool], str] = _julianday) -> str:
    """The OGC ``datetime`` parameter (instant or ``start/end`` with ``..``) as SQL; ``time_of``
    makes a column (True) or a literal (False) comparable as a time (SQLite: julian days)."""
    col = time_of(quote_ident(column), True)
    if "/" not in datetime_:
        return f"({col} = {time_of(literal(datetime_), False)})"
    start, end = datetime_.split("/", 1)
    parts = []
    if start not in ("", ".."):
        parts.append(f"{col} >= {time_of(literal(start), False)}")
    if end not in ("", ".."):
        parts.append(f"{col} <= {time_of(literal(end), False)}")
    return "(" + (" AND ".join(parts) or "1=1") + ")"
