"""Every breakpoint edge of HJ 633-2012 table 1 and every class limit of GB 3838-2002 table 1.

The tables below are typed again from the published standards, not imported from the code, so
a wrong number in either place fails here. At each breakpoint the IAQI is exactly the table's
IAQI; a hair above it the interpolation starts the next segment and HJ 633's rounding up
(进位取整) gives one more. For water, a value on a class limit belongs to that class and a hair
worse to the next one.
"""

import pytest

from onemap.analysis.standards import aqi, water

IAQI = (0, 50, 100, 150, 200, 300, 400, 500)
#: HJ 633-2012 表1 空气质量分指数及对应的污染物项目浓度限值 (CO in mg/m³, others µg/m³).
HJ633 = {
    ("so2", "24h"): (0, 50, 150, 475, 800, 1600, 2100, 2620),
    ("so2", "1h"): (0, 150, 500, 650, 800),
    ("no2", "24h"): (0, 40, 80, 180, 280, 565, 750, 940),
    ("no2", "1h"): (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    ("pm10", "24h"): (0, 50, 150, 250, 350, 420, 500, 600),
    ("co", "24h"): (0, 2, 4, 14, 24, 36, 48, 60),
    ("co", "1h"): (0, 5, 10, 35, 60, 90, 120, 150),
    ("o3", "1h"): (0, 160, 200, 300, 400, 800, 1000, 1200),
    ("o3", "8h"): (0, 100, 160, 215, 265, 800),
    ("pm25", "24h"): (0, 35, 75, 115, 150, 250, 350, 500),
}
EDGES = [(p, period, i, bp) for (p, period), bps in HJ633.items() for i, bp in enumerate(bps)]


@pytest.mark.parametrize(("pollutant", "period", "i", "bp"), EDGES,
                         ids=[f"{p}-{t}-{bp}" for p, t, _, bp in EDGES])
def test_iaqi_at_every_breakpoint_and_just_above(pollutant, period, i, bp):
    assert aqi.iaqi(pollutant, bp, period) == IAQI[i]
    last = i == len(HJ633[(pollutant, period)]) - 1
    above = aqi.iaqi(pollutant, bp + (0.001 if pollutant == "co" else 0.01), period)
    if not last:
        assert above == IAQI[i] + 1
    elif (pollutant, period) in (("so2", "1h"), ("o3", "8h")):
        assert above is None  # not indexed on this scale above the table (HJ 633 notes 2, 3)
    else:
        assert above == 500  # the top of the scale


@pytest.mark.parametrize(("pollutant", "period"), list(HJ633))
def test_iaqi_midpoints_interpolate_linearly(pollutant, period):
    bps = HJ633[(pollutant, period)]
    for i in range(1, len(bps)):
        mid = (bps[i - 1] + bps[i]) / 2
        expected = (IAQI[i - 1] + IAQI[i]) / 2  # a whole number or .5 for every segment
        assert aqi.iaqi(pollutant, mid, period) == -(-expected // 1)


#: GB 3838-2002 表1 (mg/L): limits of classes I–V; DO is a minimum.
GB3838 = {
    "do": (7.5, 6, 5, 3, 2),
    "codmn": (2, 4, 6, 10, 15),
    "cod": (15, 15, 20, 30, 40),
    "bod5": (3, 3, 4, 6, 10),
    "nh3n": (0.15, 0.5, 1.0, 1.5, 2.0),
    "tp": (0.02, 0.1, 0.2, 0.3, 0.4),
}
TP_LAKE = (0.01, 0.025, 0.05, 0.1, 0.2)
CLASSES = ("I", "II", "III", "IV", "V")
# COD and BOD5 share the limit of classes I and II, so a value on it is class I.
LIMIT_CASES = [(p, lim, False, i) for p, lims in GB3838.items() for i, lim in enumerate(lims)] \
    + [("tp", lim, True, i) for i, lim in enumerate(TP_LAKE)]


@pytest.mark.parametrize(("param", "limit", "lake", "i"), LIMIT_CASES,
                         ids=[f"{p}{'-lake' if lk else ''}-{CLASSES[i]}"
                              for p, _, lk, i in LIMIT_CASES])
def test_class_on_every_limit_and_just_worse(param, limit, lake, i):
    lims = TP_LAKE if lake else GB3838[param]
    first = lims.index(limit)  # equal limits (COD, BOD5 I/II): the better class wins
    assert water.parameter_class(param, limit, lake=lake) == CLASSES[first]
    worse = limit - 0.001 if param == "do" else limit + 0.001
    nxt = next((j for j in range(i + 1, len(lims)) if lims[j] != limit), None)
    expected = CLASSES[nxt] if nxt is not None else "V+"
    assert water.parameter_class(param, worse, lake=lake) == expected


@pytest.mark.parametrize(("ph", "cls"), [(6, "I"), (9, "I"), (5.99, "V+"), (9.01, "V+")])
def test_ph_range_6_to_9(ph, cls):
    assert water.parameter_class("ph", ph) == cls
