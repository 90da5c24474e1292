"""Text on the standards' colours: black or white by WCAG contrast, at least AA where it can be."""

from __future__ import annotations

import pytest

from onemap.styles.contrast import contrast, ink, rgb
from onemap.styles.symbology import AQI_LEVELS, NO_DATA_COLOR, WATER_CLASSES


def test_ratio_matches_the_wcag_examples() -> None:
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)  # the classic near-miss
    assert contrast("#FFFFFF", "#FFFFFF") == pytest.approx(1.0)


@pytest.mark.parametrize("fill", [lv.color for lv in AQI_LEVELS]
                         + [c.color for c in WATER_CLASSES] + [NO_DATA_COLOR])
def test_ink_is_the_better_of_black_and_white_and_passes_aa(fill: str) -> None:
    chosen = ink(fill)
    other = "#FFFFFF" if chosen == "#000000" else "#000000"
    assert contrast(chosen, fill) >= contrast(other, fill)
    # every colour of both standards (and the no-data grey) carries AA text one way or the other
    assert contrast(chosen, fill) >= 4.5, (fill, chosen, contrast(chosen, fill))


def test_bad_colour_is_named() -> None:
    with pytest.raises(ValueError, match="rgb"):
        rgb("rgb(1,2,3)")
