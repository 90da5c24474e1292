"""The WMTS layers of a catalogue (onemap.mapserver.wmts_layers), on the sample's entries and
copies of them that collide: which layer an identifier names, and the step a time picks."""

from __future__ import annotations

import pytest

from onemap.catalog import Entry
from onemap.mapserver.errors import ApiError
from onemap.mapserver.wmts_layers import named, pick, sources


def _with_collisions(entries: dict[str, Entry]) -> list[Entry]:
    """The sample plus a raster named like the cube's id and a single-member series named like
    its own raster, as a user's uploads may make them."""
    ndvi, scene = entries["ndvi_2025_07"], entries["gf1_wfv_2025_07_20"]
    return [*entries.values(),
            ndvi.model_copy(update={"id": "pm25_hourly_copy", "extra": {
                **ndvi.extra, "collection": "pm25_hourly", "date": "2025-08"}}),
            scene.model_copy(update={"id": "lone", "extra": {**scene.extra,
                                                             "collection": "lone"}})]


def test_layers_of_the_sample(entries: dict[str, Entry]) -> None:
    found = sources(list(entries.values()))
    kinds = {k: s.kind for k, s in found.items()}
    rasters = {e.id for e in entries.values() if e.kind == "raster"}
    assert kinds == {"ndvi": "series", "gf1_wfv": "series", "pm25_hourly": "cube",
                     **{r: "raster" for r in rasters}}
    assert found["ndvi"].times == tuple(sorted(found["ndvi"].times))
    assert found["ndvi"].default == found["ndvi"].times[-1]
    assert found["pm25_hourly"].default == entries["pm25_hourly"].extra["times"][0]


def test_an_identifier_names_one_layer(entries: dict[str, Entry]) -> None:
    everything = _with_collisions(entries)
    found = sources(everything)
    assert found["pm25_hourly"].kind == "cube"  # a cube before a series of the same name
    assert found["lone"].kind == "series" and found["lone"].times  # the series, dated
    for layer in {*found, "no_such_layer"}:  # a tile asks the policy about these only
        assert sources(named(everything, layer)).get(layer) == found.get(layer), layer


def test_a_time_picks_a_step(entries: dict[str, Entry]) -> None:
    found = sources(list(entries.values()))
    ndvi, cube = found["ndvi"], found["pm25_hourly"]
    assert pick(ndvi, "2025-01")[0].id == "ndvi_2025_01"
    assert pick(ndvi, "2025-01-01T00:00:00Z")[0].id == "ndvi_2025_01"  # the same instant
    assert pick(ndvi, "{Time}")[0].id == pick(ndvi, None)[0].id == ndvi.entries[-1].id
    times = cube.times
    assert pick(cube, times[5]) == (cube.entries[0], f"time={times[5][:-1]}")
    assert pick(cube, "{Time}")[1] == f"time={times[0][:-1]}"
    assert pick(found["ndvi_2025_07"], "{Time}") == (entries["ndvi_2025_07"], None)
    for source, time, words in ((ndvi, "2025-02", "no step at 2025-02"),
                                (ndvi, "soon", "not an ISO 8601 time"),
                                (cube, "2030-01-01T00:00:00Z", "outside the cube"),
                                (found["ndvi_2025_07"], "2025-07", "no Time dimension")):
        with pytest.raises(ApiError) as err:
            pick(source, time)
        assert err.value.status == 400 and words in err.value.detail, err.value.detail
