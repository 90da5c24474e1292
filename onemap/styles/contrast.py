"""WCAG 2 contrast: the text colour to write on a standard's fill, and the ratio tests check.

The AQI colours of HJ 633-2012 and the water-class colours are mandated; the text on them is
not, so badges and chips take black or white by :func:`ink`, whichever contrasts more (the two
are equal at relative luminance 0.179). ``onemap.util.ink`` in assets/onemap.js is the same rule.
"""

from __future__ import annotations

import re

_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def rgb(color: str) -> tuple[int, int, int]:
    """``#RRGGBB`` → (r, g, b) in 0–255."""
    m = _HEX.fullmatch(color.strip())
    if not m:
        raise ValueError(f"not a #RRGGBB colour: {color!r}")
    n = int(m.group(1), 16)
    return n >> 16, (n >> 8) & 255, n & 255


def luminance(color: str | tuple[float, float, float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour (hex or 0–255 channels)."""
    channels = rgb(color) if isinstance(color, str) else color

    def linear(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in channels[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str | tuple[float, float, float], b: str | tuple[float, float, float]) -> float:
    """The WCAG contrast ratio of two colours, 1–21 (AA: 4.5 for text, 3 for large text)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def ink(fill: str) -> str:
    """Black or white text for a filled colour: whichever contrasts more with it."""
    return "#000000" if luminance(fill) > 0.179 else "#FFFFFF"
