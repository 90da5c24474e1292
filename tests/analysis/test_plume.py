"""Gaussian plume: values worked by hand from the formula, stability classes, orientation."""

import math

import numpy as np
import pandas as pd
import pytest

from onemap.analysis.plume import (
    POLLUTANTS,
    Plume,
    place,
    sigmas,
    solar_elevation_deg,
    stability_class,
    to_plume_frame,
)


def test_briggs_sigmas_by_hand():
    # rural D at 1 km: σy = 0.08·x·(1+0.0001x)^-0.5, σz = 0.06·x·(1+0.0015x)^-0.5
    sy, sz = sigmas(1000.0, "D")
    assert float(sy) == pytest.approx(80 / math.sqrt(1.1))
    assert float(sz) == pytest.approx(60 / math.sqrt(2.5))
    # rural F: σz = 0.016·x·(1+0.0003x)^-1 ; urban C: σz = 0.20·x
    assert float(sigmas(2000.0, "F")[1]) == pytest.approx(32 / 1.6)
    assert float(sigmas(500.0, "C", urban=True)[1]) == pytest.approx(100.0)
    assert float(sigmas(500.0, "C", urban=True)[0]) == pytest.approx(110 / math.sqrt(1.2))


def test_centreline_concentration_by_hand():
    # Q = 100 g/s, u = 5 m/s, D, ground release, x = 1 km:
    # C = Q / (π u σy σz) = 100 / (π · 5 · 76.277 · 37.947) g/m³ = 2.1994 mg/m³
    p = Plume(100.0, 5.0, "D")
    expected = 100 / (math.pi * 5 * (80 / math.sqrt(1.1)) * (60 / math.sqrt(2.5))) * 1000
    assert expected == pytest.approx(2.1994, abs=1e-4)
    assert float(p.concentration(1000.0)) == pytest.approx(expected, rel=1e-9)
    # one σy off the axis: × exp(-1/2); upwind: nothing
    sy = 80 / math.sqrt(1.1)
    assert float(p.concentration(1000.0, sy)) == pytest.approx(expected * math.exp(-0.5))
    assert float(p.concentration(-1000.0)) == 0.0
    # a 20 m stack: the ground sees × exp(-H² / 2σz²) (image source doubles the half-plume)
    high = Plume(100.0, 5.0, "D", height_m=20.0)
    sz = 60 / math.sqrt(2.5)
    assert float(high.concentration(1000.0)) == pytest.approx(
        expected * math.exp(-(20 ** 2) / (2 * sz ** 2)))


def test_calm_wind_is_floored_at_one_metre_per_second():
    assert Plume(10.0, 0.3, "F").speed_used == 1.0
    assert float(Plume(10.0, 0.3, "F").concentration(500.0)) == pytest.approx(
        float(Plume(10.0, 1.0, "F").concentration(500.0)))


def test_footprint_edges_match_the_threshold():
    p = Plume(100.0, 5.0, "D")
    thr = 1.0
    poly = p.footprint(thr)
    minx, miny, maxx, maxy = poly.bounds
    # the far end is where the centreline falls to the threshold
    assert float(p.concentration(maxx)) == pytest.approx(thr, rel=1e-3)
    assert float(p.concentration(maxx * 1.01)) < thr < float(p.concentration(maxx * 0.99))
    # at 500 m downwind the half-width is σy·sqrt(2 ln(C0/thr))
    sy = float(sigmas(500.0, "D")[0])
    half = sy * math.sqrt(2 * math.log(float(p.concentration(500.0)) / thr))
    from shapely.geometry import LineString
    cut = poly.intersection(LineString([(500, -5000), (500, 5000)]))
    assert cut.length / 2 == pytest.approx(half, rel=0.02)
    assert miny == pytest.approx(-maxy)  # symmetric about the axis
    # a stricter threshold gives a smaller footprint nested in it; an unreachable one none
    assert p.footprint(10.0).area < poly.area
    assert p.footprint(1e9) is None


def test_elevated_release_footprint_starts_downwind():
    p = Plume(500.0, 3.0, "D", height_m=50.0)
    poly = p.footprint(1.0)
    assert poly.bounds[0] > 100  # the plume reaches the ground only some way downwind


@pytest.mark.parametrize(("from_deg", "dx", "dy"), [(0, 0, -1), (90, -1, 0), (180, 0, 1),
                                                    (270, 1, 0)])
def test_plume_points_downwind(from_deg, dx, dy):
    """Wind from the north blows the footprint south of the source, and so on."""
    poly = place(Plume(100.0, 3.0, "D").footprint(1.0), from_deg, 1000.0, 2000.0)
    c = poly.centroid
    ux, uy = c.x - 1000.0, c.y - 2000.0
    norm = math.hypot(ux, uy)
    assert ux / norm == pytest.approx(dx, abs=1e-6) and uy / norm == pytest.approx(dy, abs=1e-6)
    # and the frame transform agrees: the centroid is downwind (x > 0) on the axis (y = 0)
    x, y = to_plume_frame(np.array([ux]), np.array([uy]), from_deg)
    assert x[0] == pytest.approx(norm) and y[0] == pytest.approx(0.0, abs=1e-6)


def test_stability_from_wind_and_sun():
    noon_june = pd.Timestamp("2025-06-21 12:00", tz="Asia/Shanghai")
    assert solar_elevation_deg(noon_june, 117.3, 31.8) == pytest.approx(90 - 31.8 + 23.44, abs=2.5)
    assert stability_class(1.5, noon_june, 117.3, 31.8) == "A"   # strong sun, light wind
    assert stability_class(7.0, noon_june, 117.3, 31.8) == "C"
    noon_dec = pd.Timestamp("2025-12-21 12:00", tz="Asia/Shanghai")  # sun ≈ 35°: moderate
    assert 30 < solar_elevation_deg(noon_dec, 117.3, 31.8) < 40
    night = pd.Timestamp("2025-03-01 02:00", tz="Asia/Shanghai")
    assert solar_elevation_deg(night, 117.3, 31.8) < 0
    assert stability_class(1.0, night, 117.3, 31.8) == "F"
    assert stability_class(4.0, night, 117.3, 31.8) == "E"
    assert stability_class(8.0, night, 117.3, 31.8) == "D"


def test_pollutant_table():
    cl2 = POLLUTANTS["cl2"]
    # AEGL-2 (60 min) chlorine 2.0 ppm · 70.90 / 24.45 = 5.80 mg/m³
    assert [lv.code for lv in cl2.air_levels] == ["AEGL-1", "AEGL-2", "AEGL-3"]
    assert cl2.air_levels[1].value == pytest.approx(5.80, abs=0.01)
    for p in POLLUTANTS.values():
        values = [lv.value for lv in p.air_levels]
        assert values == sorted(values), p.code
        assert p.source
        assert ("air" in p.media) == bool(p.air_levels), p.code
        assert ("water" in p.media) == (p.water_limit_mg_l is not None), p.code
