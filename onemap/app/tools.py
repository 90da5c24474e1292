"""Map tools: the scale bar (in the layout) and the coordinates under the cursor.

The coordinates are drawn by ``assets/tools.js`` as a Leaflet control, updated on every mouse
move in the browser without a Dash round trip; nothing here needs a callback yet. Measuring and
exporting the view are still to come (issue 6).
"""

from __future__ import annotations

import dash

from onemap.config import Settings


def map_controls(lang: str) -> list:
    """Extra map children (none: the coordinates control is added by ``assets/tools.js``)."""
    return []


def register(app: dash.Dash, settings: Settings) -> None:
    return None
