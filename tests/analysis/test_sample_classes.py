"""The GB 3838 class of every water sample, and its agreement with the sections' latest class.

Cases are worked by hand from GB 3838-2002 table 1 (limits written out in the comments), not
from the module's own table, so a wrong limit there fails here.
"""

from __future__ import annotations

import math

import pandas as pd

from onemap.analysis.latest import (
    WATER_PARAMETERS,
    latest_section_class,
    sample_classes,
    with_sample_classes,
)
from onemap.config import Settings
from onemap.layers.store import read_layer

SECTIONS = pd.DataFrame({
    "section_id": ["R1", "L1", "R5", "RX"],
    "water_body_type": ["river", "lake", "river", "river"],
    "target_class": ["III", "III", "V+", None],
})


def _samples(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    frame.index = [10 + 7 * i for i in range(len(frame))]  # fids, not a RangeIndex
    return frame


def test_each_sample_is_classed_with_its_own_sections_rules():
    same = {"do": 8.0, "codmn": 3.0, "cod": 12.0, "bod5": 2.0, "nh3n": 0.3, "tp": 0.096,
            "ph": 7.5, "tn": 3.0}
    got = sample_classes(SECTIONS, _samples(
        # river: TP 0.096 <= 0.1 is class II; NH3-N 0.3 <= 0.5 II; CODMn 3 <= 4 II -> II.
        # TN 3.0 is worse than V but TN does not count for the class.
        {"section_id": "R1", **same},
        # lake: TP 0.096 is over the lake class III limit 0.05 and within IV's 0.1 -> IV;
        # exceeding vs III: (0.096 - 0.05) / 0.05 = 0.92
        {"section_id": "L1", **same},
        # river, target III: NH3-N 2.5 > 2.0 (V) -> V+, (2.5 - 1.0) / 1.0 = 1.5;
        # DO 2.5 < 3 (IV) but >= 2 -> V, under target III with no multiple defined.
        {"section_id": "R1", "do": 2.5, "nh3n": 2.5, "tp": 0.15},
        # the same sample at a "V+"-target section counts exceedances against V: NH3-N only,
        # (2.5 - 2.0) / 2.0 = 0.25
        {"section_id": "R5", "do": 2.5, "nh3n": 2.5, "tp": 0.15},
        # no target recorded: against III; pH 9.4 alone is worse than V
        {"section_id": "RX", "ph": 9.4, "tp": 0.25},
        # TN alone is not evaluated: no class, nothing exceeding
        {"section_id": "R1", "tn": 4.0},
        # a section the layer does not know: river limits, target III; COD 30 <= 30 -> IV
        {"section_id": "??", "cod": 30.0},
    ))
    assert list(got.index) == [10, 17, 24, 31, 38, 45, 52]
    assert list(got["water_class"]) == ["II", "IV", "V+", "V+", "V+", None, "IV"]
    assert list(got["exceeding"]) == ["", "tp:0.92", "do,nh3n:1.5", "nh3n:0.25", "tp:0.25", "",
                                      "cod:0.5"]


def test_with_sample_classes_keeps_every_row_and_replaces_stale_columns():
    samples = _samples({"section_id": "L1", "tp": 0.03, "water_class": "I", "exceeding": "x"},
                       {"section_id": "R1", "tp": 0.03})
    out = with_sample_classes(SECTIONS, samples)
    assert list(out.columns) == ["section_id", "tp", "water_class", "exceeding"]
    # lake TP 0.03 is over II's 0.025 and within III's 0.05; river TP 0.03 is within II's 0.1
    assert list(out["water_class"]) == ["III", "II"]
    assert list(out.index) == list(samples.index)


def test_every_real_sample_has_a_class_and_the_latest_is_the_sections(
        sample_settings: Settings):
    sections = read_layer("water_sections", sample_settings)
    samples = read_layer("water_samples", sample_settings, fid_as_index=True)
    classed = with_sample_classes(sections, samples)
    assert len(classed) == len(samples) >= 700
    assert classed["water_class"].isin(["I", "II", "III", "IV", "V", "V+"]).all()
    assert classed["water_class"].nunique() >= 3  # the data is not one colour
    latest = latest_section_class(sections, samples).set_index("section_id")
    usable = classed[classed[WATER_PARAMETERS].notna().any(axis=1)]
    last = usable.sort_values("time").groupby("section_id").tail(1).set_index("section_id")
    assert set(last.index) == set(latest.index)
    for section_id, row in last.iterrows():
        assert latest.loc[section_id, "water_class"] == row["water_class"], section_id
        assert latest.loc[section_id, "exceeding"] == row["exceeding"], section_id
        assert latest.loc[section_id, "sample_time"] == row["time"]
    # every multiple of exceedance is a number with at most two decimals (a value just over
    # the limit rounds to "0.0", as on water_sections)
    for text in classed["exceeding"]:
        for item in filter(None, text.split(",")):
            name, _, multiple = item.partition(":")
            assert name in WATER_PARAMETERS
            if multiple:
                assert float(multiple) >= 0 and math.isclose(round(float(multiple), 2),
                                                            float(multiple))
