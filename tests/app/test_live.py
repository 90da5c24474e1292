"""The app's copy of what the live side names (alarm rules, pollutant names and the limit
column of each, the live tables' columns) agrees with onemap.live, and the live UI is laid out
only for those whose catalogue has the alarms layer."""

from __future__ import annotations

import json

from onemap.app.i18n import FAMILY_GROUP, STRINGS
from onemap.app.labels import popup_spec
from onemap.app.live import (
    ALARM_STRINGS,
    LIVE_BLOCK_FIELDS,
    LIVE_POLLUTANTS,
    LIVE_POPUP_FIELDS,
    LIVE_VALUE_LABELS,
    PH,
    READING_STRINGS,
    TICKER_STRINGS,
    ticker,
)
from onemap.app.sources import Z_ORDER
from onemap.live import livestore, registry, rules
from onemap.live.hj212 import codes
from onemap.styles.symbology import ALARM_RULES, DEVICE_STATUSES, leaflet_style, legend


def test_live_names_match_the_receiver() -> None:
    assert {c.value: c.label for c in ALARM_RULES} == {k: v[0] for k, v in rules.RULES.items()}
    assert {c.value for c in DEVICE_STATUSES} == {"unseen", "online", "offline"}
    for code, (zh, en, column) in LIVE_POLLUTANTS.items():
        info = codes.POLLUTANTS[code]
        assert (zh, en) == (info.name, info.name_en), code
        assert registry.LIMIT_COLUMNS.get(column) == code if column else \
            code not in registry.LIMIT_COLUMNS.values()
    assert set(registry.LIMIT_COLUMNS.values()) <= set(LIVE_POLLUTANTS)
    assert PH[0] == registry.PH


def test_live_popups_name_the_live_columns() -> None:
    for family, fields in LIVE_POPUP_FIELDS.items():
        columns = set(livestore.SCHEMAS[family])
        assert {f[0] for f in fields} <= columns, family
        assert set(LIVE_VALUE_LABELS[family]) <= {f[0] for f in fields}
    assert set(LIVE_BLOCK_FIELDS["alarms"]) <= {f[0] for f in LIVE_POPUP_FIELDS["alarms"]}
    spec = popup_spec("alarms", "en")
    assert spec["key_field"] == "alarm_id"
    assert spec["values"]["rule"]["exceedance"] == "Exceedance"
    assert spec["values"]["status"]["acknowledged"] == "Acknowledged"
    assert spec["extra"]["pollutants"]["w01018"] == ["COD", "cod_limit"]
    for key in (*ALARM_STRINGS, *READING_STRINGS, *TICKER_STRINGS):
        assert STRINGS["zh"][key] and STRINGS["en"][key], key


def test_live_layers_are_grouped_and_styled() -> None:
    assert FAMILY_GROUP["alarms"] == FAMILY_GROUP["devices"] == "live"
    assert Z_ORDER["alarms"] > max(v for k, v in Z_ORDER.items() if k != "alarms")
    assert leaflet_style("alarms")["colors"]["exceedance"] == "#D50000"
    assert [row[0] for row in legend("devices", "en")] == ["Online", "Offline", "Never reported"]


def _specs(*families: str) -> list[dict]:
    return [{"id": f, "family": f, "kind": "vector", "url": f"/ogc/collections/{f}/items?f=json"}
            for f in families]


def test_ticker_only_for_whom_the_alarms_layer_is_listed() -> None:
    assert ticker(_specs("air_stations"), {"user": "x", "roles": ["commander"]}, "/") is None
    box = ticker(_specs("alarms", "devices"), {"user": "x", "roles": ["commander"]}, "/m/")
    attrs = box.to_plotly_json()["props"]
    assert attrs["data-handler"] == "1" and attrs["data-base"] == "/m/"
    assert json.loads(attrs["data-layers"])["devices"]["id"] == "devices"
    viewer = ticker(_specs("alarms"), {"user": "v", "roles": ["viewer"]}, "/")
    assert viewer.to_plotly_json()["props"]["data-handler"] == ""
