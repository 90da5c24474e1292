"""What the map shows depends on who is logged in, decided by the server (not hidden by the
page): anonymous visitors see no internal layer, a county officer logging in through the form
gets the county's pollution sources and nothing of another county's, and a failed login is in
the audit with the browser's address."""

from __future__ import annotations

import geopandas as gpd
import pytest

from onemap import catalog
from onemap.access import accounts, audit
from onemap.config import Settings
from onemap.data.generate import INTERNAL_LAYERS
from tests.browsing import watch

pytestmark = [pytest.mark.browser, pytest.mark.server]

INTERNAL = set(INTERNAL_LAYERS)  # what the sample marks internal
PASSWORD = "County-Officer-77"
LISTED = """() => [...document.querySelectorAll('#om-layer-list input[type=checkbox]')]
    .map(e => e.value)"""


def _county_sources(settings: Settings, county: str) -> set[str]:
    """The county's sources by the data's own county code (not by the server's filter)."""
    df = gpd.read_file(catalog.get("pollution_sources", settings).file(settings),
                       columns=["source_id", "county_code"], ignore_geometry=True)
    return set(df.loc[df.county_code == county, "source_id"])


def test_the_map_follows_the_login(live_server: str, browser, sample_settings: Settings,
                                   artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    if accounts.get(sample_settings, "chen") is None:
        accounts.add(sample_settings, "chen", roles=["viewer"], region="340124",
                     password=PASSWORD)
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    traffic = watch(page)
    page.set_default_timeout(60_000)
    page.goto(live_server + "/")
    page.wait_for_selector("#om-layer-list input[value=air_stations]", state="attached")
    assert INTERNAL.isdisjoint(page.evaluate(LISTED))

    # a wrong password first: refused, and in the audit with who tried and from where
    page.click("#om-login-open")
    page.fill("#om-login-user", "chen")
    page.fill("#om-login-password", "Not-The-Password-1")
    page.click("#om-login-submit")
    page.wait_for_selector("#om-login-failed", state="visible")
    failed = audit.query(sample_settings, user="chen", action="login_failed")
    assert failed and failed[0]["address"] == "127.0.0.1" and failed[0]["status"] == 401
    assert "wrong password" in failed[0]["detail"]

    page.fill("#om-login-password", PASSWORD)
    page.evaluate("window.dash_clientside.set_props('om-login-failed', {hidden: true})")
    with page.expect_response(lambda r: "/ogc/collections/pollution_sources/items" in r.url,
                              timeout=120_000) as got:
        page.click("#om-login-submit")  # the page reloads as chen …
        page.wait_for_selector("#om-account-name")
        box = page.locator("#om-layer-list input[value=pollution_sources]")
        box.wait_for(state="attached")
        if not box.is_checked():  # … and the sources are switched on like any layer
            box.check(force=True)
    assert INTERNAL <= set(page.evaluate(LISTED))
    answer = got.value
    assert answer.status == 200
    seen = {f["properties"]["source_id"] for f in answer.json()["features"]}
    want = _county_sources(sample_settings, "340124")
    assert seen == want, (len(seen), len(want))
    assert not seen & _county_sources(sample_settings, "340181")
    page.screenshot(path=str(artifacts_dir / "county-officer.png"))
    # the one refused request is the wrong password's
    assert [f.split()[0] for f in traffic.failed] == ["401"], traffic
    assert all(f.endswith("/api/auth/login") for f in traffic.failed), traffic
    page.close()
