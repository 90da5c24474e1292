"""The symbology source: AQI levels, class colours and raster colormaps agree with each other."""

import pytest

from onemap.styles import AQI_LEVELS, aqi_color, aqi_level, leaflet_style, legend, rio_colormap
from onemap.styles.colormaps import RASTER_STYLES


@pytest.mark.parametrize(("aqi", "color"), [(0, "#00E400"), (50, "#00E400"), (51, "#FFFF00"),
                                            (150, "#FF7E00"), (201, "#99004C"), (301, "#7E0023"),
                                            (None, "#9E9E9E")])
def test_aqi_colours_follow_hj633_levels(aqi, color):
    assert aqi_color(aqi) == color


def test_aqi_levels_are_contiguous():
    for lower, upper in zip(AQI_LEVELS, AQI_LEVELS[1:], strict=False):
        assert upper.low == lower.high + 1
    assert aqi_level(300).label == "重度污染"


@pytest.mark.parametrize("name", sorted(RASTER_STYLES))
def test_colormap_ends_match_the_legend_stops(name):
    cmap = rio_colormap(name)
    stops = RASTER_STYLES[name].stops
    first, last = stops[0][1].lstrip("#"), stops[-1][1].lstrip("#")
    assert len(cmap) == 256
    assert "{:02X}{:02X}{:02X}".format(*cmap[0][:3]) == first.upper()
    assert "{:02X}{:02X}{:02X}".format(*cmap[255][:3]) == last.upper()


def test_legends_and_leaflet_styles_share_colours():
    style = leaflet_style("water_sections")
    rows = dict(legend("water_sections", "en"))
    assert rows["Class III"] == style["colors"]["III"]
    assert legend("air_stations")[0] == ("优", "#00E400")


def test_ndvi_change_ramp_is_diverging_around_zero():
    style = RASTER_STYLES["onemap_ndvi_change"]
    assert style.vmin == -style.vmax
    cmap = rio_colormap("onemap_ndvi_change")
    r, g, b, _ = cmap[128]  # value ≈ 0: the pale middle
    assert min(r, g, b) > 200
    assert cmap[0][0] > cmap[0][1] and cmap[255][1] > cmap[255][0]  # red low, green high


def test_sampled_stops_of_a_builtin_colormap():
    from rio_tiler.colormap import cmap

    from onemap.styles.colormaps import sample_stops

    stops = sample_stops(cmap.get("viridis"), 5, vmin=-1, vmax=1)
    assert [v for v, _ in stops] == [-1, -0.5, 0, 0.5, 1]
    assert stops[0][1] == "#440154" and stops[-1][1] == "#FDE724"
