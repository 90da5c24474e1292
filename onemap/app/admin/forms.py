"""Building blocks shared by the admin page's sections: labelled fields, buttons, the rule for
which click a pattern-matched row button made, and re-reading a list after a write.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ctx, dcc, html
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from onemap.app.admin import api
from onemap.app.dock import text
from onemap.config import Settings


def field(key: str, control: Component, lang: str) -> html.Div:
    """A control with its label (the label follows the language switch)."""
    return html.Div([text(key, lang, html.Label, htmlFor=getattr(control, "id", "")),
                     control], className="adm-field")


def group(key: str, control: Component, lang: str) -> html.Fieldset:
    """A group of choices (check boxes, radio buttons) with its caption."""
    return html.Fieldset([html.Legend(text(key, lang)), control], className="adm-field")


def entry(input_id: str, kind: str = "text", **kw: Any) -> dcc.Input:
    """A text box whose value Dash reads as typed (no browser autofill of admin fields)."""
    return dcc.Input(id=input_id, type=kind, value=kw.pop("value", ""),
                     autoComplete=kw.pop("autoComplete", "off"), className="adm-input", **kw)


def button(key: str, button_id: str | dict, lang: str, cls: str = "") -> html.Button:
    return html.Button(text(key, lang), id=button_id, n_clicks=0, type="button",
                       className=f"adm-button {cls}".strip())


def row_click() -> dict | None:
    """The id of the row button (a pattern-matched id) that was really clicked, None when the
    callback ran for another input. Rows are drawn again after every write, and new buttons
    (no clicks yet) set the callback off too: those are not clicks, and stop here."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict):
        return None
    if not any(t.get("value") for t in ctx.triggered):
        raise PreventUpdate
    return trigger


def reread(settings: Settings, where: str, key: str,
           params: dict[str, Any] | None = None) -> Any:
    """The list ``key`` of ``GET where`` after a write; ``no_update`` when it cannot be read
    (the page then keeps what it shows)."""
    answer = api.call(settings, "GET", where, params=params)
    return api.listed(answer, key) if answer.ok else dash.no_update
