"""The process gate's table is complete and true to the catalogue; visibility by role."""

from __future__ import annotations

from onemap import catalog
from onemap.access.principal import ANONYMOUS, make
from onemap.config import Settings
from onemap.mapserver.processing import PROCESSES, gate


def test_every_process_declares_what_it_reads(sample_settings: Settings) -> None:
    entries = catalog.load(sample_settings)
    assert set(gate.READS) == set(PROCESSES)
    for pid, ids in gate.READS.items():
        assert set(ids) <= set(entries), (pid, set(ids) - set(entries))


def test_visible_by_role_and_data(sample_settings: Settings) -> None:
    ids = list(PROCESSES)
    public = {"aqi-daily", "aqi-hourly", "pm25-surface"}
    assert set(gate.visible_ids(ANONYMOUS, ids, sample_settings)) == public
    county = make("a", {"analyst"}, region="340181")  # internal layers: its county's part
    assert "upwind-sources" in gate.visible_ids(county, ids, sample_settings)
    assert not gate.visible(make("x", {"admin"}), "no-such-process", sample_settings)
