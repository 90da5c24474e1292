"""Shared fixtures: the real sample region (generated once per run) and the real server.

The sample data is made by the same generator and import path a user runs (``onemap sample``),
into a temporary data dir, so tests never depend on a developer's ``var/``. The server fixture
starts ``python -m onemap serve`` on a free 127.0.0.1 port against that data dir and waits until
it answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from onemap.config import Settings
from tests.server import run_server

#: Debian's chromium with the flags this closed network needs (never `playwright install`).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose data dir holds the generated sample region, imported and catalogued."""
    from onemap.data.generate import generate

    settings = Settings(data_dir=tmp_path_factory.mktemp("onemap-data"))
    generate(settings, scale="region", force=True)
    return settings


@pytest.fixture(scope="session")
def live_server(sample_settings: Settings) -> Iterator[str]:
    """Base URL of the real OneMap server running on the sample data."""
    with run_server(sample_settings.data_dir) as base:
        yield base


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
