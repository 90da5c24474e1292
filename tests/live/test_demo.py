"""The demo's whole chain without a browser: the simulator drives devices over TCP into the
real receiver and store, and each scenario raises the alarm an officer should see."""

from __future__ import annotations

from onemap.config import Settings
from onemap.live import livestore
from onemap.live.service import Service
from onemap.live.sim_device import device_of
from onemap.live.simulate import Options, load_outlets, simulate
from tests.loops import run as _run

#: Scenario → the alarm rules it must raise.
EXPECTED = {"exceedance": {"exceedance", "continuous_exceedance"}, "constant": {"constant"},
            "zero_flow": {"zero_flow"}, "abnormal_flag": {"abnormal_flag"},
            "dropout": {"offline"}}


def test_every_scenario_raises_its_alarm(live_settings: Settings) -> None:
    settings = Settings(data_dir=live_settings.data_dir, hj212_offline_minutes=0.03)
    rows = load_outlets(settings)
    water = rows[(rows.medium == "water") & rows.cod_limit.notna()].to_dict("records")
    devices = [device_of(row, 11, scenario) for row, scenario in zip(water, EXPECTED,
                                                                      strict=False)]
    devices.append(device_of(water[len(EXPECTED)], 11, None))  # a normal one: no alarm
    assert [d.scenario for d in devices] == [*EXPECTED, None]

    async def main() -> None:
        service = Service(settings, "127.0.0.1", 0)
        port = await service.start()
        try:
            await simulate(devices, Options("127.0.0.1", port, "123456", interval=0.2,
                                            backfill_hours=4, answer_timeout=3.0),
                           duration=9.0)
        finally:
            await service.stop()

    _run(main())
    conn = livestore.connect(livestore.path(settings))
    raised: dict[str, set[str]] = {}
    for mn, rule in conn.execute("SELECT mn, rule FROM alarms"):
        raised.setdefault(mn, set()).add(rule)
    for device in devices:
        want = EXPECTED.get(device.scenario or "", set())
        got = raised.get(device.mn, set()) - {"offline"} if device.scenario != "dropout" \
            else raised.get(device.mn, set()) & {"offline"}
        assert got == want, (device.scenario, raised.get(device.mn))
