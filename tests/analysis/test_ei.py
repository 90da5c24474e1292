"""HJ 192-2015 ecological index: the weighted sum, every grade edge and every change-grade edge,
and the approximated indicators, on values worked by hand."""

import math

import numpy as np
import pytest

from onemap.analysis.errors import InvalidInput
from onemap.analysis.standards import ei as E


def test_weights_sum_to_one():
    assert sum(E.WEIGHTS.values()) == pytest.approx(1.0)


def test_weighted_sum_by_hand():
    # 0.35×80 + 0.25×70 + 0.15×10 + 0.15×(100−5) + 0.10×(100−20)
    # = 28 + 17.5 + 1.5 + 14.25 + 8 = 69.25
    assert E.ecological_index(80, 70, 10, 5, 20) == pytest.approx(69.25)
    assert E.ecological_index(80, 70, 10, 5, 20, eri=-5) == pytest.approx(64.25)
    assert E.ecological_index(100, 100, 100, 0, 0) == pytest.approx(100)
    assert E.ecological_index(0, 0, 0, 100, 100) == pytest.approx(0)
    # stresses count against: only LSI and PLI at 100 → 0.35+0.25+0.15 of 100
    assert E.ecological_index(100, 100, 100, 100, 100) == pytest.approx(75)


@pytest.mark.parametrize("bad", [{"bi": 101}, {"vi": -0.1}, {"pli": math.nan}, {"lsi": "x"}])
def test_indices_outside_0_100_are_rejected(bad):
    args = dict(bi=50, vi=50, wdi=50, lsi=50, pli=50) | bad
    name = next(iter(bad))
    with pytest.raises(InvalidInput) as err:
        E.ecological_index(**args)
    assert err.value.parameter == name


@pytest.mark.parametrize(("value", "grade"), [
    (100, "excellent"), (75, "excellent"), (74.99, "good"), (np.nextafter(75, 0), "good"),
    (55, "good"), (54.99, "fair"), (np.nextafter(55, 0), "fair"),
    (35, "fair"), (34.99, "poor"), (np.nextafter(35, 0), "poor"),
    (20, "poor"), (19.99, "bad"), (np.nextafter(20, 0), "bad"), (0, "bad"),
])
def test_grade_edges(value, grade):
    assert E.ei_grade(value) == grade


def test_grade_names_and_downgrade():
    assert [E.GRADE_NAMES[g][0] for g in E.GRADES] == ["优", "良", "一般", "较差", "差"]
    assert E.ei_grade(80, downgrade=1) == "good"
    assert E.ei_grade(56, downgrade=2) == "poor"
    assert E.ei_grade(10, downgrade=3) == "bad"
    with pytest.raises(InvalidInput):
        E.ei_grade(math.nan)


@pytest.mark.parametrize(("delta", "grade", "direction"), [
    (0, "none", "stable"), (0.99, "none", "stable"), (-0.99, "none", "stable"),
    (1, "slight", "better"), (-1, "slight", "worse"), (2.99, "slight", "better"),
    (-2.99, "slight", "worse"), (3, "obvious", "better"), (-3, "obvious", "worse"),
    (7.99, "obvious", "better"), (-7.99, "obvious", "worse"),
    (8, "significant", "better"), (-8, "significant", "worse"), (-30, "significant", "worse"),
])
def test_change_grade_edges(delta, grade, direction):
    assert E.ei_change_grade(delta) == grade
    assert E.ei_change_direction(delta) == direction


def test_change_labels():
    assert E.ei_change_label(0.5) == "无明显变化"
    assert E.ei_change_label(1.2) == "略微变好"
    assert E.ei_change_label(-3) == "明显变差"
    assert E.ei_change_label(9) == "显著变好"
    assert E.ei_change_label(-9, lang="en") == "significant change, worse"


def test_ndvi_classes_and_abundance():
    ndvi = np.array([-0.1, 0.0, 0.19, 0.2, 0.44, 0.45, 0.69, 0.7, 0.9, np.nan])
    shares = E.ndvi_class_shares(ndvi)
    assert shares == pytest.approx({"water": 1 / 9, "bare": 2 / 9, "sparse": 2 / 9,
                                    "moderate": 2 / 9, "dense": 2 / 9})
    # habitat quality: (0.28 + 2×0.04 + 2×0.11 + 2×0.21 + 2×0.35) / 9 / 0.35 × 100
    expected = (0.28 + 0.08 + 0.22 + 0.42 + 0.70) / 9 / 0.35 * 100
    assert E.biological_abundance(shares) == pytest.approx(expected)
    assert E.biological_abundance(E.ndvi_class_shares(np.full(4, 0.8))) == pytest.approx(100)
    assert E.biological_abundance(E.ndvi_class_shares(np.full(4, 0.1))) == pytest.approx(
        100 * 0.04 / 0.35)
    assert E.land_stress(shares) == pytest.approx(100 * 2 / 9)


def test_vegetation_cover_clips_ndvi():
    assert E.vegetation_cover(np.array([-0.2, 0.4, 0.8, np.nan])) == pytest.approx(40.0)
    assert math.isnan(E.vegetation_cover(np.array([np.nan])))


def test_water_network_density():
    # 0.5 km/km² of river → 50; water share 0.1 of the 0.2 reference → 50
    assert E.water_network_density(5.0, 1.0, 10.0) == pytest.approx(50.0)
    assert E.water_network_density(100.0, 100.0, 10.0) == pytest.approx(100.0)  # capped
    with pytest.raises(InvalidInput):
        E.water_network_density(1, 1, 0)


def test_pollution_load():
    at_reference = {k: E.PLI_REFERENCE[k] * 10 for k in E.PLI_WEIGHTS}  # 10 km²
    assert E.pollution_load(at_reference, 10.0) == pytest.approx(100.0)
    # SO2 at half its reference, nothing else: 0.2 × 50 / (0.2+0.2+0.2+0.1+0.1)
    assert E.pollution_load({"so2_t": 100.0}, 10.0) == pytest.approx(12.5)
    assert E.pollution_load({}, 10.0) == 0.0
    with pytest.raises(InvalidInput) as err:
        E.pollution_load({"cod_t": -1.0}, 10.0)
    assert err.value.parameter == "cod_t"
