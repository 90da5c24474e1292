"""Live monitoring over HTTP on the real stack (``onemap hj212`` and ``onemap serve`` on one
copy of the sample): an exceedance sent over TCP reaches a browser's event stream as an alarm,
only inside the caller's county; officials acknowledge and close it (audited); the summary and
the OGC collections show the live layers, cut by region like every layer."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from datetime import UTC, datetime

import pytest
import requests

from onemap.live.hj212 import cp, frames
from onemap.live.hj212.frames import Packet
from onemap.live.registry import Device, Registry
from tests.conftest import Caller, LiveStack


def send(port: int, packet: Packet) -> Packet:
    """One packet over a TCP connection of its own; the receiver's answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(frames.encode(packet))
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            assert chunk, "the receiver closed the connection without answering"
            data += chunk
    return frames.decode(data)


def hourly(device: Device, value: float, pollutant: str, qn: str) -> Packet:
    when = cp.format_time(datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    return Packet(st=device.st, cn="2061", pw="123456", mn=device.mn, qn=qn, flag=5,
                  cp=f"DataTime={when};{pollutant}-Avg={value},{pollutant}-Flag=N")


class Events:
    """A browser's ``EventSource`` stand-in: a thread reading ``/api/alarms/events``."""

    def __init__(self, base: str, caller: Caller | None) -> None:
        self.events: queue.Queue = queue.Queue()
        self.opened = threading.Event()
        headers = caller.headers if caller else {}
        self._response = requests.get(f"{base}/api/alarms/events", headers=headers,
                                      stream=True, timeout=60)
        self.status = self._response.status_code
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        event: dict[str, str] = {}
        try:
            for line in self._response.iter_lines(decode_unicode=True):
                if line.startswith("retry:"):
                    self.opened.set()
                elif line == "":
                    if "data" in event:
                        self.events.put(event)
                    event = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    event[name] = value
        except (requests.RequestException, AttributeError):
            return

    def next(self, timeout: float = 30) -> dict:
        event = self.events.get(timeout=timeout)
        return {"id": event["id"], "event": event["event"], **json.loads(event["data"])}

    def close(self) -> None:
        self._response.close()


def _device(stack: LiveStack, county: str) -> Device:
    return next(d for d in Registry(stack.settings).devices().values()
                if d.medium == "water" and d.county_code == county and "w01018" in d.limits)


def test_alarm_pushed_handled_and_served(live_stack: LiveStack,
                                         callers: dict[str, Caller]) -> None:
    base = live_stack.base
    a, b = _device(live_stack, "340181"), _device(live_stack, "340124")
    assert Events(base, None).status == 404  # internal: anonymous does not know it exists
    everyone, county_b = Events(base, callers["commander"]), Events(base, callers["viewer_b"])
    try:
        assert everyone.opened.wait(20) and county_b.opened.wait(20)
        over = a.limits["w01018"][1] * 2
        sent = time.monotonic()
        assert send(live_stack.port, hourly(a, over, "w01018", "20261203100000001")).cn == "9014"
        alarm = everyone.next()
        latency = time.monotonic() - sent
        assert alarm["event"] == "alarm" and alarm["properties"]["rule"] == "exceedance"
        assert alarm["properties"]["outlet_code"] == a.outlet_code
        assert alarm["properties"]["value"] == pytest.approx(over)
        assert alarm["geometry"]["coordinates"] == pytest.approx([a.lon, a.lat])
        assert latency < 10, latency  # generous under load; the bench measures it properly
        # county B's viewer: A's alarm never comes, B's does
        send(live_stack.port, hourly(b, b.limits["w01018"][1] * 3, "w01018",
                                     "20261203100000002"))
        assert county_b.next()["properties"]["outlet_code"] == b.outlet_code
        assert everyone.next()["properties"]["outlet_code"] == b.outlet_code
    finally:
        everyone.close()
        county_b.close()

    alarm_id = alarm["id"]
    url = f"{base}/api/alarms/{alarm_id}"
    assert requests.post(f"{url}/acknowledge", timeout=30).status_code == 401
    assert requests.post(f"{url}/acknowledge", headers=callers["viewer"].headers,
                         timeout=30).status_code == 403
    other = requests.post(f"{base}/api/alarms/{alarm_id}/acknowledge",
                          headers=callers["commander"].headers | {"Content-Type":
                                                                   "application/json"},
                          data=json.dumps({"note": "x" * 3000}), timeout=30)
    assert other.status_code == 400 and other.json()["code"]
    # a commander of county A handles A's alarm; B's is unknown to them
    commander_a = live_stack.commander_a
    b_alarm = requests.get(f"{base}/ogc/collections/alarms/items",
                           params={"outlet_code": b.outlet_code, "f": "json"},
                           headers=callers["commander"].headers, timeout=30).json()
    b_id = b_alarm["features"][0]["properties"]["alarm_id"]
    assert requests.post(f"{base}/api/alarms/{b_id}/close", headers=commander_a.headers,
                         timeout=30).status_code == 404
    done = requests.post(f"{url}/acknowledge", headers=commander_a.headers,
                         json={"note": "on site at 10:20"}, timeout=30)
    assert done.status_code == 200, done.text
    assert done.json()["properties"]["status"] == "acknowledged"
    assert done.json()["properties"]["acknowledged_by"] == "commander_a"
    again = requests.post(f"{url}/acknowledge", headers=commander_a.headers, timeout=30)
    assert again.status_code == 409 and "already acknowledged" in again.json()["detail"]
    closed = requests.post(f"{url}/close", headers=callers["commander"].headers, timeout=30)
    assert closed.json()["properties"]["status"] == "closed"
    assert closed.json()["properties"]["note"] == "on site at 10:20"
    assert requests.post(f"{base}/api/alarms/nope/close", headers=callers["commander"].headers,
                         timeout=30).status_code == 404
    audit = requests.get(f"{base}/api/admin/audit", params={"action": "alarm_change"},
                         headers=callers["admin"].headers, timeout=30).json()
    records = audit.get("records", audit.get("items", []))
    assert {(r["user"], r["target"], r["outcome"]) for r in records} >= {
        ("commander_a", alarm_id, "ok"), ("commander", alarm_id, "ok")}

    # the OGC collection: whole for the analyst, county A's for viewer_a, absent for anonymous
    def items(caller: Caller | None) -> requests.Response:
        return requests.get(f"{base}/ogc/collections/alarms/items", params={"f": "json"},
                            headers=caller.headers if caller else {}, timeout=30)

    whole = {f["properties"]["outlet_code"] for f in items(callers["analyst"]).json()["features"]}
    assert {a.outlet_code, b.outlet_code} <= whole
    part = {f["properties"]["outlet_code"] for f in items(callers["viewer_a"]).json()["features"]}
    assert a.outlet_code in part and b.outlet_code not in part
    assert items(None).status_code == 404


def test_summary_online_rate(live_stack: LiveStack, callers: dict[str, Caller]) -> None:
    base = live_stack.base
    a = _device(live_stack, "340181")
    send(live_stack.port, Packet(st=a.st, cn="2011", pw="123456", mn=a.mn,
                                 qn="20261203100000003", flag=5,
                                 cp=f"DataTime={cp.format_time(datetime.now(UTC))};"
                                    "w01018-Rtd=10,w01018-Flag=N"))
    got = requests.get(f"{base}/api/live/summary", headers=callers["analyst"].headers,
                       timeout=30).json()
    devices = got["devices"]
    assert devices["total"] == len(Registry(live_stack.settings).devices())
    assert devices["online"] >= 1 and devices["online_rate"] is not None
    assert devices["online"] + devices["offline"] + devices["unseen"] == devices["total"]
    county = requests.get(f"{base}/api/live/summary", headers=callers["viewer_a"].headers,
                          timeout=30).json()
    in_a = sum(1 for d in Registry(live_stack.settings).devices().values()
               if d.county_code == "340181")
    assert county["devices"]["total"] == in_a < devices["total"]
    anonymous = requests.get(f"{base}/api/live/summary", timeout=30).json()
    assert "devices" not in anonymous and "alarms" not in anonymous
    # silent for 3 s: offline, with an alarm, then online again at its next packet
    def offline() -> list[dict]:
        return [f for f in requests.get(
            f"{base}/ogc/collections/alarms/items", params={"f": "json", "rule": "offline",
                                                            "mn": a.mn},
            headers=callers["analyst"].headers, timeout=30).json()["features"]
            if f["properties"]["end"] is None]

    deadline = time.monotonic() + 60
    while not offline() and time.monotonic() < deadline:
        time.sleep(0.5)
    alarm, = offline()
    assert alarm["id"] == alarm["properties"]["alarm_id"]  # the OGC id is the alarm's
    one = requests.get(f"{base}/ogc/collections/devices/items/{a.mn}", params={"f": "json"},
                       headers=callers["analyst"].headers, timeout=30).json()
    assert one["properties"]["status"] == "offline"
    send(live_stack.port, Packet(st=a.st, cn="2011", pw="123456", mn=a.mn,
                                 qn="20261203100000004", flag=5,
                                 cp=f"DataTime={cp.format_time(datetime.now(UTC))};"
                                    "w01018-Rtd=11,w01018-Flag=N"))
    ended = requests.get(f"{base}/ogc/collections/alarms/items/{alarm['id']}",
                         params={"f": "json"}, headers=callers["analyst"].headers,
                         timeout=30).json()
    assert ended["properties"]["end"] is not None  # ended in the packet's own transaction


def test_live_layers_are_not_replaced_or_removed(live_stack: LiveStack,
                                                 callers: dict[str, Caller]) -> None:
    base, admin = live_stack.base, callers["admin"].headers
    gone = requests.delete(f"{base}/api/layers/alarms", headers=admin, timeout=30)
    assert gone.status_code == 409 and gone.json()["code"] == "LiveDataset"
    put = requests.put(f"{base}/api/layers/devices", headers=admin, timeout=30,
                       files={"file": ("d.csv", b"mn\nX\n", "text/csv")})
    assert put.status_code == 409 and "HJ 212 receiver" in put.json()["detail"]
    assert requests.get(f"{base}/ogc/collections/alarms", params={"f": "json"},
                        headers=admin, timeout=30).status_code == 200


def test_qgis_reads_the_live_layers(live_stack: LiveStack, callers: dict[str, Caller]) -> None:
    """QGIS (Debian's python3-qgis, its own OAPIF provider) opens the alarm and device
    collections with a county viewer's key: the county's features, as the API counts them."""
    from tests.mapserver.test_qgis import qgis_open

    base = live_stack.base
    b = _device(live_stack, "340124")
    send(live_stack.port, hourly(b, b.limits["w01018"][1] * 4, "w01018", "20261203100000009"))
    county = callers["viewer_b"]

    def matched(name: str) -> int:
        return requests.get(f"{base}/ogc/collections/{name}/items",
                            params={"limit": 1, "f": "json"}, headers=county.headers,
                            timeout=60).json()["numberMatched"]

    before = {name: matched(name) for name in ("alarms", "devices")}
    seen = qgis_open(f"{base}/ogc/", ["alarms", "devices"], county)
    for name in ("alarms", "devices"):  # live data: alarms may come while QGIS reads
        assert seen[name]["valid"], seen[name]["error"]
        assert 0 < before[name] <= seen[name]["count"] <= matched(name), name
