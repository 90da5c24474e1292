"""Photos of features (/api/attachments): under the feature's own rules, checked, re-encoded.

On a server of its own (a copy of the sample): a commander reports an incident through OGC API
Features Part 4 and adds photos; a viewer sees them, an anonymous caller is told of nothing; a
viewer may not add, a county commander not outside the county; a file that is not a photo, or
is too large, is refused with a JSON 4xx and leaves nothing behind. The kept photo is upright,
at most 2048 px, and carries no metadata (the camera's GPS position included).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from onemap.access import accounts
from onemap.config import Settings
from tests.conftest import Caller
from tests.server import run_server, sample_copy

pytestmark = pytest.mark.server

GEOJSON = {"Content-Type": "application/geo+json"}


@pytest.fixture(scope="module")
def site(sample_settings: Settings, callers: dict[str, Caller],
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Caller]]:
    data = sample_copy(sample_settings.data_dir, tmp_path_factory.mktemp("photos"))
    settings = Settings(data_dir=data)
    if accounts.get(settings, "commander_b") is None:
        accounts.add(settings, "commander_b", roles=["commander"], region="340181")
    _, key = accounts.create_key(settings, "commander_b", "tests")
    with run_server(data, ONEMAP_MAX_IMAGE_PIXELS="20000000") as base:
        yield base, data, Caller("commander_b", key, ("commander",), "340181")


def _jpeg(size: tuple[int, int], orientation: int | None = None, gps: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 40, 40))
    image.paste((40, 40, 200), (0, 0, size[0] // 2, size[1] // 4))  # a corner to find again
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (31.0, 36.0, 0.0), 3: "E", 4: (117.0, 27.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _report(base: str, who: Caller, lon: float, lat: float) -> str:
    made = requests.post(f"{base}/ogc/collections/incidents/items", timeout=60,
                         headers={**who.headers, **GEOJSON},
                         json={"type": "Feature",
                               "geometry": {"type": "Point", "coordinates": [lon, lat]},
                               "properties": {"title": "现场照片测试", "type": "水污染",
                                              "time": "2026-12-04T10:00:00+08:00",
                                              "level": "一般", "status": "reported"}})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _add(base: str, who: dict[str, str], fid: str, data: bytes, name: str = "p.jpg",
         kind: str = "image/jpeg") -> requests.Response:
    return requests.post(f"{base}/api/attachments/incidents/{fid}", headers=who, timeout=60,
                         files={"file": (name, data, kind)})


def test_a_reported_incident_gets_its_photos(site, callers) -> None:  # type: ignore[no-untyped-def]
    base, data, _ = site
    commander, viewer = callers["commander"], callers["viewer"]
    fid = _report(base, commander, 117.30, 31.75)
    tall = _jpeg((3000, 1000), orientation=6, gps=True)  # taken sideways: 90° clockwise
    added = _add(base, commander.headers, fid, tall)
    assert added.status_code == 201, added.text
    doc = added.json()
    assert doc["by"] == commander.user and doc["href"].endswith(f"/{doc['id']}.jpg")
    assert (doc["width"], doc["height"]) == (683, 2048)  # upright, longest side 2048
    listed = requests.get(f"{base}/api/attachments/incidents/{fid}", headers=viewer.headers,
                          timeout=60)
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()["attachments"]] == [doc["id"]]
    got = requests.get(doc["href"], headers=viewer.headers, timeout=60)
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(got.content)) as kept:
        assert kept.size == (683, 2048) and kept.format == "JPEG"
        assert not kept.getexif() and "exif" not in kept.info  # no GPS, no camera
        assert kept.getpixel((680, 10))[2] > 150  # the blue corner, now top right
    png = io.BytesIO()
    Image.new("RGBA", (40, 30), (0, 128, 0, 255)).save(png, "PNG")
    assert _add(base, commander.headers, fid, png.getvalue(), "p.png", "image/png") \
        .status_code == 201
    assert len(requests.get(f"{base}/api/attachments/incidents/{fid}", headers=viewer.headers,
                            timeout=60).json()["attachments"]) == 2

    # -- who may not ------------------------------------------------------------------------
    hidden = requests.get(f"{base}/api/attachments/incidents/{fid}", timeout=60)
    assert hidden.status_code == 404  # incidents are internal: not even named
    assert requests.get(doc["href"], timeout=60).status_code == 404
    assert _add(base, {}, fid, tall).status_code == 404
    refused = _add(base, viewer.headers, fid, tall)
    assert refused.status_code == 403 and refused.json()["code"] == "Forbidden"
    county = site[2]
    outside = _add(base, county.headers, fid, tall)  # the feature is not in 340181
    assert outside.status_code == 404, outside.text

    # -- what is not a photo ------------------------------------------------------------------
    cases = [(b"GIF89a" + b"\0" * 40, "x.gif", 415), (b"not an image", "x.jpg", 415),
             (b"", "x.jpg", 400), (_jpeg((5000, 4100)), "big.jpg", 413)]
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    cases.append((gif.getvalue(), "real.gif", 415))
    for body, name, status in cases:
        bad = _add(base, commander.headers, fid, body, name)
        assert bad.status_code == status, (name, bad.text)
        assert set(bad.json()) == {"code", "detail"}
    for ident in ("SJ-none", "..", "a%2Fb"):
        assert requests.get(f"{base}/api/attachments/incidents/{ident}",
                            headers=viewer.headers, timeout=60).status_code == 404
    assert requests.get(f"{base}/api/attachments/incidents/{fid}/{'0' * 32}.jpg",
                        headers=viewer.headers, timeout=60).status_code == 404
    kept = sorted(p.name for p in (data / "attachments" / "incidents" / fid).iterdir())
    assert len(kept) == 4 and not [n for n in kept if n.startswith(".")]  # no temporary left
