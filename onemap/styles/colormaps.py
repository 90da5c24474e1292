"""Raster colormaps and default renderings shared by titiler, legends and the app.

Each colormap is a list of (value, colour) stops over its natural range; :func:`rio_colormap`
expands it to the 256-entry table rio-tiler/titiler expect, so a tile and its legend always agree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RasterStyle:
    """A named colormap with the value range it is drawn over."""

    name: str
    title: str
    title_en: str
    vmin: float
    vmax: float
    stops: tuple[tuple[float, str], ...]
    unit: str = ""


def _hex(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


RASTER_STYLES: dict[str, RasterStyle] = {s.name: s for s in [
    RasterStyle("onemap_ndvi", "植被指数 NDVI", "Vegetation index (NDVI)", -0.2, 1.0, (
        (-0.2, "#0C5DA5"), (0.0, "#BFA37A"), (0.2, "#E8DB8E"), (0.4, "#A6D96A"),
        (0.6, "#4DAE4B"), (0.8, "#1A7A34"), (1.0, "#00441B"))),
    RasterStyle("onemap_pm25", "PM2.5 浓度", "PM2.5 concentration", 0, 250, (
        (0, "#00E400"), (35, "#FFFF00"), (75, "#FF7E00"), (115, "#FF0000"),
        (150, "#99004C"), (250, "#7E0023")), unit="µg/m³"),
    # Diverging ramp for a difference of two NDVI rasters (later − earlier): browning red,
    # no change pale, greening green; symmetric so 0 sits exactly in the middle.
    RasterStyle("onemap_ndvi_change", "NDVI 变化", "NDVI change", -0.5, 0.5, (
        (-0.5, "#A50026"), (-0.25, "#F46D43"), (-0.05, "#FEE08B"), (0.0, "#F7F7F7"),
        (0.05, "#D9EF8B"), (0.25, "#66BD63"), (0.5, "#006837"))),
]}


def rio_colormap(name: str) -> dict[int, tuple[int, int, int, int]]:
    """256-entry colormap for rio-tiler: index i maps to vmin + i/255 * (vmax - vmin)."""
    style = RASTER_STYLES[name]
    values = [v for v, _ in style.stops]
    colors = [_hex(c) for _, c in style.stops]
    out: dict[int, tuple[int, int, int, int]] = {}
    for i in range(256):
        v = style.vmin + i / 255 * (style.vmax - style.vmin)
        j = max(k for k in range(len(values)) if values[k] <= v or k == 0)
        if j == len(values) - 1:
            rgb = colors[-1]
        else:
            t = (v - values[j]) / (values[j + 1] - values[j])
            t = min(max(t, 0.0), 1.0)
            pairs = zip(colors[j], colors[j + 1], strict=True)
            rgb = tuple(round(a + (b - a) * t) for a, b in pairs)
        out[i] = (*rgb, 255)
    return out


def legend_stops(name: str) -> list[tuple[float, str]]:
    """Stops for a continuous legend (value, colour)."""
    return list(RASTER_STYLES[name].stops)


def sample_stops(cmap: dict[int, tuple[int, ...]], n: int = 11, vmin: float = 0.0,
                 vmax: float = 1.0) -> list[tuple[float, str]]:
    """``n`` evenly spaced (value, "#RRGGBB") stops of a 256-entry rio-tiler colormap, its
    index range mapped onto [vmin, vmax] — a legend for colormaps that have no stops of their
    own (rio-tiler's viridis, rdylgn…)."""
    out = []
    for k in range(n):
        i = round(k * 255 / (n - 1))
        r, g, b = cmap[i][:3]
        out.append((vmin + k / (n - 1) * (vmax - vmin), f"#{r:02X}{g:02X}{b:02X}"))
    return out
