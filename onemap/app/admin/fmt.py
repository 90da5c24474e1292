"""How the admin page writes the server's values: times in Beijing time, regions by name,
roles and outcomes in words, a server's refusal as its own reason; and a plain table.

Pure functions of the data and the language (no server call), so they are unit-tested.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from dash import html

from onemap.app.admin.api import Answer
from onemap.app.admin.text import role_label
from onemap.app.dock import text
from onemap.app.i18n import t
from onemap.app.panels import emergency_form
from onemap.app.timebar import BEIJING

DASH = "—"


def beijing(stamp: str | None) -> str:
    """A time the server wrote (ISO, UTC) as ``YYYY-MM-DD HH:MM:SS`` Beijing time, as the rest
    of the app shows times; none: a dash."""
    return emergency_form.beijing(stamp, seconds=True) or DASH


def day_bounds(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """Dates picked in the page (``YYYY-MM-DD``, Beijing days) as the audit API's ``since``
    (inclusive) and ``until`` (exclusive: the day after, so the last day is included)."""
    def start(day: str | None, later: int = 0) -> str | None:
        if not day:
            return None
        try:
            first = date.fromisoformat(day) + timedelta(days=later)
        except ValueError:
            return day  # the server names what is wrong with it
        return datetime(first.year, first.month, first.day, tzinfo=BEIJING).isoformat()
    return start(since), start(until, 1)


def region_label(code: str | None, names: dict[str, str], lang: str) -> str:
    """``340124 庐江县`` (the code alone when the boundaries do not name it); no region: the
    whole territory."""
    if not code:
        return t("adm_region_all", lang)
    name = names.get(code, "")
    return f"{code} {name}" if name else code


def roles_text(roles: Sequence[str], lang: str) -> str:
    return ", ".join(role_label(r, lang) for r in roles) or DASH


def role_options(roles: Sequence[str], lang: str) -> list[dict[str, str]]:
    """Checklist options: a role in words, its value the server's code."""
    return [{"label": role_label(r, lang), "value": r} for r in roles]


def outcome_label(outcome: str, lang: str) -> str:
    return t(f"adm_outcome_{outcome}", lang) if outcome in ("ok", "denied", "failed") \
        else outcome


def message(answer: Answer, lang: str, done_key: str, what: str = "") -> html.Div:
    """The result of a write next to its form: done (with what), or refused with the
    server's status and reason (never swallowed)."""
    if answer.ok:
        return html.Div([text(done_key, lang), f" {what}"], className="adm-msg adm-ok")
    status = f"HTTP {answer.status}" if answer.status else "—"
    return html.Div([text("adm_failed", lang), f" ({status}): {answer.detail}"],
                    className="adm-msg adm-error", role="alert")


def table(table_id: str, head: Sequence[str], rows: Sequence[Sequence[Any]], lang: str,
          keys: Sequence[str] | None = None,
          titles: Sequence[str] | None = None) -> html.Table | html.Div:
    """A plain table (``keys``: a ``data-key`` per row, for people's tools and tests;
    ``titles``: a tooltip per row); no rows: a note saying so."""
    if not rows:
        return html.Div(t("adm_empty", lang), id=table_id, className="adm-empty")
    keys = keys or [""] * len(rows)
    titles = titles or [""] * len(rows)
    return html.Table([
        html.Thead(html.Tr([html.Th(h) for h in head])),
        html.Tbody([html.Tr([html.Td(c) for c in row], title=tip or None, **{"data-key": k})
                    for row, k, tip in zip(rows, keys, titles, strict=True)]),
    ], id=table_id, className="adm-table")
