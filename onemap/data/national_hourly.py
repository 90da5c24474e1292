"""Years of hourly air data for every national station, made a month at a time.

A ministry's history — ~1,500 stations hourly since 2013, 170 million rows — cannot be built in
memory, so :func:`months` yields one calendar month of all stations at a time (1,500 × 744
hours ≈ 1.1 million rows, ~100 MB as a frame) for the importer to validate and write before the
next is made. Each month draws from its own generator (seeded by its year and month), so a
month's rows do not depend on how many years were asked for.

The signal is the regional model's in outline (:mod:`onemap.data.stations`), cheaper: a
station's level (north dirtier than south, cities than countryside), winter haze and summer
ozone, a diurnal cycle, day-to-day weather shared within a month and AR(1) station noise;
hours go missing (~1 %) and monthly maintenance hours are flagged ``M`` with void values.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from onemap.data.geography import SEED

#: The last hour of the history (Beijing time): the regional sample's year ends there too.
END = pd.Timestamp("2025-12-31 23:00")


def _ar1(gen: np.random.Generator, n: int, phi: float, s: int) -> np.ndarray:
    """Unit-variance AR(1) noise, shape (s, n), by a recursive filter over blocks of hours."""
    e = gen.normal(size=(s, n)).astype(np.float32) * np.float32(np.sqrt(1 - phi ** 2))
    out = np.empty_like(e)
    out[:, 0] = gen.normal(size=s)
    for i in range(1, n):
        out[:, i] = phi * out[:, i - 1] + e[:, i]
    return out


def months(stations: pd.DataFrame, years: int) -> Iterator[pd.DataFrame]:
    """``years`` years of hourly rows ending at :data:`END` for ``stations`` (``station_id``,
    ``lon``, ``lat``, ``station_type``), one calendar month per frame, in time order."""
    if years < 1:
        return
    start = pd.Timestamp(END.year - years + 1, 1, 1)
    ids = stations["station_id"].to_numpy()
    lat = stations["lat"].to_numpy(dtype=float)[:, None]
    city = (stations["station_type"].to_numpy() != "municipal").astype(float)[:, None]
    level = (0.6 + 0.9 * np.clip((lat - 22) / 20, 0, 1)) * (0.85 + 0.25 * city)
    for month in pd.date_range(start, END, freq="MS"):
        hours = pd.date_range(month, month + pd.offsets.MonthEnd(0) + pd.Timedelta(hours=23),
                              freq="h")
        gen = np.random.default_rng([SEED, 2013, month.year, month.month])
        n, s = len(hours), len(ids)
        doy = hours.day_of_year.to_numpy()
        hour = hours.hour.to_numpy()
        winter = np.cos(2 * np.pi * (doy - 15) / 365)  # +1 mid-January
        weather = np.repeat(gen.normal(0, 0.35, (n + 23) // 24), 24)[:n]  # day to day
        trend = 1.0 - 0.035 * (month.year - 2013)  # the air has cleaned up since 2013
        noise = _ar1(gen, n, 0.9, s)
        diurnal = 1 + 0.15 * np.cos(2 * np.pi * (hour - 22) / 24)
        pm25 = 45 * trend * level * (1 + 0.55 * winter) * diurnal * np.exp(
            weather + 0.2 * noise)
        sun = np.clip(np.sin(np.pi * (hour - 6) / 13), 0, None)
        o3 = (25 + 110 * (0.6 - 0.4 * winter) * sun ** 1.5) * np.exp(0.15 * noise - 0.2 * weather)
        values = {"pm25": pm25, "pm10": pm25 * (1.6 + 0.1 * noise),
                  "so2": 12 * trend * level * (1 + 0.4 * winter) * np.exp(0.25 * noise),
                  "no2": (22 + 14 * city) * (1 + 0.3 * winter) * np.exp(0.2 * noise + weather / 2),
                  "co": 0.8 * level * (1 + 0.3 * winter) * np.exp(0.15 * noise),
                  "o3": o3, "ws": 2.5 * np.exp(0.3 * noise - weather),
                  "wd": (45 + 100 * (1 - winter) + 30 * noise) % 360}
        flag = np.full((s, n), "N", dtype=object)
        void = np.zeros((s, n), dtype=bool)
        first = gen.integers(48, n - 24, s)
        for k in range(4):  # a maintenance morning each month
            void[np.arange(s), first + k] = True
        flag[void] = "M"
        present = gen.random((s, n)) >= 0.01
        rows = np.nonzero(present)
        frame = {"station_id": ids[rows[0]], "time": hours.to_numpy()[rows[1]]}
        for name, v in values.items():
            v = np.round(np.clip(v, 0.1 if name in ("co", "ws") else 1, None),
                         1 if name in ("co", "ws") else 0)
            frame[name] = np.where(void, np.nan, v)[rows]
        frame["flag"] = flag[rows]
        yield pd.DataFrame(frame)
