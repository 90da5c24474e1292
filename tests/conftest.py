"""Shared fixtures: the real sample region (generated once per run) and the real server.

The sample data is made by the same generator and import path a user runs (``onemap sample``),
into a temporary data dir, so tests never depend on a developer's ``var/``. The server fixture
starts ``python -m onemap serve`` on a free 127.0.0.1 port against that data dir and waits until
it answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from onemap.config import Settings
from tests.server import run_receiver, run_server

#: Debian's chromium with the flags this closed network needs (never `playwright install`).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(autouse=True)
def _owslib_headers() -> Iterator[None]:
    """OWSLib's OGC API clients (0.35) share one module-level header dict and write a client's
    ``headers=`` into it, so a key given to one client would be sent by every later one; each
    test starts from the headers OWSLib ships with."""
    from owslib import ogcapi

    shipped = dict(ogcapi.REQUEST_HEADERS)
    yield
    ogcapi.REQUEST_HEADERS.clear()
    ogcapi.REQUEST_HEADERS.update(shipped)


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose data dir holds the generated sample region, imported and catalogued."""
    from onemap.data.generate import generate

    settings = Settings(data_dir=tmp_path_factory.mktemp("onemap-data"))
    generate(settings, scale="region", force=True)
    return settings


@dataclass(frozen=True)
class Caller:
    """A test account with an API key, ready for requests (``auth``, ``headers``) and GDAL."""

    user: str
    key: str
    roles: tuple[str, ...]
    region: str | None

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.key)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


#: The accounts every test may act as: name → (roles, region). Counties: 340181 巢湖市 (A),
#: 340124 庐江县 (B).
CALLERS = {"admin": (("admin",), None), "viewer": (("viewer",), None),
           "viewer_a": (("viewer",), "340181"), "viewer_b": (("viewer",), "340124"),
           "analyst": (("analyst",), None), "analyst_a": (("analyst",), "340181"),
           "commander": (("commander",), None), "manager": (("data_manager",), None),
           "manager_a": (("data_manager",), "340181")}


@pytest.fixture(scope="session")
def callers(sample_settings: Settings) -> dict[str, Caller]:
    """The accounts of :data:`CALLERS` in the sample's system database, each with a key."""
    from onemap.access import accounts

    out = {}
    for name, (roles, region) in CALLERS.items():
        if accounts.get(sample_settings, name) is None:
            accounts.add(sample_settings, name, roles=roles, region=region)
        _, key = accounts.create_key(sample_settings, name, "tests")
        out[name] = Caller(name, key, roles, region)
    return out


@pytest.fixture(scope="session")
def gpkg_server(sample_settings: Settings) -> Iterator[str]:
    """Base URL of the real OneMap server running on the sample data (its GeoPackages)."""
    with run_server(sample_settings.data_dir) as base:
        yield base


@pytest.fixture(scope="session")
def live_server(gpkg_server: str) -> str:
    """The server most tests ask: on the sample's files (see :func:`store_server`)."""
    return gpkg_server


@pytest.fixture(scope="session")
def pg_server(sample_settings: Settings, callers: dict[str, Caller],
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A server on a copy of the sample whose layers and series are served from PostGIS
    (:func:`tests.postgres.postgis_server`); nothing may change its data."""
    from tests.postgres import postgis_server
    from tests.server import sample_copy

    data = sample_copy(sample_settings.data_dir, tmp_path_factory.mktemp("pg-server"))
    with postgis_server(data, sample_settings.system_db_url) as server:
        yield server


#: The two stores a module parametrized by :func:`store_server` runs on.
STORES = ("geopackage", "postgis")


@pytest.fixture(scope="session", params=STORES)
def store_server(request: pytest.FixtureRequest) -> str:
    """Base URL of a server on the sample, once with each store: a module whose tests must
    hold for both defines ``live_server`` as this (the same requests, the same answers)."""
    if request.param == "geopackage":
        return request.getfixturevalue("gpkg_server")
    return request.getfixturevalue("pg_server").base


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave screenshots and reports for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's chromium driven by playwright; `make test` installs it, so it is never skipped."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def _close_pages(request: pytest.FixtureRequest) -> Iterator[None]:
    """Closes the browser pages a test opened and left open, most often because it failed half
    way: a page left running on the shared server keeps playing its clock, polling and running
    processes, and the next modules' counts of jobs and audit records see its requests."""
    if "browser" not in request.fixturenames:
        yield
        return
    browser = request.getfixturevalue("browser")
    before = set(map(id, browser.contexts))
    yield
    for context in browser.contexts:
        if id(context) not in before:
            context.close()


@dataclass(frozen=True)
class Guarded:
    """A server on a copy of the sample with internal rasters and an internal cube, so the
    raster routes have something hidden: ``member`` is an internal step of the public ``ndvi``
    series (dated after all public steps), ``alone`` an internal raster in a series of its
    own, ``cube`` an internal data cube; each points at a public dataset's file."""

    base: str
    settings: Settings
    member: str = "secret_ndvi_2026_01"
    alone: str = "secret_scene"
    cube: str = "secret_pm25"


@pytest.fixture(scope="session")
def guarded(sample_settings: Settings, callers: dict[str, Caller],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    """:class:`Guarded`: the sample (and its accounts, so :func:`callers`' keys work) copied,
    with internal rasters and a cube added through the catalogue, served by a real server."""
    import shutil

    from onemap import catalog

    data = tmp_path_factory.mktemp("onemap-guarded") / "data"
    shutil.copytree(sample_settings.data_dir, data,
                    ignore=shutil.ignore_patterns("runtime", "server.log"))
    settings = Settings(data_dir=data)
    entries = catalog.load(settings)
    ndvi, scene, cube = entries["ndvi_2025_07"], entries["gf1_wfv_2025_07_20"], \
        entries["pm25_hourly"]
    spec = Guarded("", settings)
    catalog.put(ndvi.model_copy(update={
        "id": spec.member, "access": "internal", "time_extent": ["2026-01", "2026-01"],
        "extra": {**ndvi.extra, "date": "2026-01", "collection": "ndvi"}}), settings)
    catalog.put(scene.model_copy(update={
        "id": spec.alone, "access": "internal",
        "extra": {**scene.extra, "collection": spec.alone}}), settings)
    catalog.put(cube.model_copy(update={
        "id": spec.cube, "access": "internal",
        "extra": {**cube.extra, "collection": spec.cube}}), settings)
    with run_server(data) as base:
        yield Guarded(base, settings)


@dataclass(frozen=True)
class LiveStack:
    """A server and an HJ 212 receiver on one copy of the sample."""

    base: str
    port: int
    settings: Settings
    #: a commander bound to county 340181 (the sample's other accounts are :func:`callers`')
    commander_a: Caller


@pytest.fixture(scope="session")
def live_stack(sample_settings: Settings, callers: dict[str, Caller],
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """:class:`LiveStack`: the sample (with :func:`callers`' accounts and a county-bound
    commander ``commander_a`` of 340181) copied, ``onemap hj212`` and ``onemap serve`` on it,
    devices going offline after 3 s of silence."""
    import shutil

    from onemap.access import accounts

    data = tmp_path_factory.mktemp("onemap-live") / "data"
    shutil.copytree(sample_settings.data_dir, data,
                    ignore=shutil.ignore_patterns("runtime", "server.log"))
    settings = Settings(data_dir=data, hj212_offline_minutes=0.05)
    if accounts.get(settings, "commander_a") is None:  # another module may have made it
        accounts.add(settings, "commander_a", roles=("commander",), region="340181")
    _, key = accounts.create_key(settings, "commander_a", "tests")
    with run_receiver(data, ONEMAP_HJ212_OFFLINE_MINUTES="0.05") as port, \
            run_server(data) as base:
        yield LiveStack(base, port, settings,
                        Caller("commander_a", key, ("commander",), "340181"))
