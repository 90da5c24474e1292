"""The emergency report opens offline: no external URL in the HTML, and in the real Chromium
from a file:// URL with every network request blocked, Leaflet draws the map, the features and
the summary table without a console error."""

from html.parser import HTMLParser
from pathlib import Path

import pytest

from onemap.analysis.emergency import Incident, assess_incident
from onemap.analysis.report import offline
from tests.analysis.test_emergency import NORTH_WIND, T0, origin, synthetic_layers
from tests.browsing import watch


class _Links(HTMLParser):
    """Every src/href attribute of the document (script *content* is not an attribute)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href") and v:
                self.urls.append((tag, k, v))


def _links(page: str) -> _Links:
    p = _Links()
    p.feed(page)
    return p


@pytest.fixture(scope="module")
def results():
    lon, lat = origin()
    air = assess_incident(Incident(lon, lat, T0, "air", "cl2", 5000.0), synthetic_layers(),
                          wind=NORTH_WIND, stability="D")
    water = assess_incident(Incident(lon, lat, T0, "water", "cod", 2000.0), synthetic_layers())
    return air, water


def test_html_has_no_external_url(results):
    for res in results:
        for lang in ("zh", "en"):
            page = res.to_html(lang=lang)
            links = _links(page)
            external = [u for u in links.urls if u[2].lower().startswith(("http:", "https:", "//"))]
            assert external == []
            assert "cdn.jsdelivr" not in page and "bootstrap" not in page.lower()
            assert "jquery" not in page.lower() and "font-awesome" not in page.lower()
            assert "L.map(" in page and "leaflet" in page.lower()
            assert f'<html lang="{"en" if lang == "en" else "zh-CN"}">' in page
    air = results[0].to_html()
    assert "缓冲圈" in air and "烟羽影响范围" in air and "AEGL-2" in air
    en = results[1].to_html(lang="en")
    assert "Downstream trace" in en and "First intake reached" in en and "甲取水口" in en


def test_offline_replaces_cdn_tags():
    page = ('<html><head><script src="https://cdn.x/npm/leaflet@1.9.3/dist/leaflet.js"></script>'
            '<script src="https://code.jquery.com/jquery.min.js"></script>'
            '<link rel="stylesheet" href="https://cdn.x/leaflet.css"/>'
            '<link rel="stylesheet" href="//cdn.x/bootstrap.css"/></head><body></body></html>')
    out = offline(page)
    assert _links(out).urls == []
    assert "window.L" in out and ".leaflet-container" in out
    assert "url(images/" not in out and "data:image/png;base64," in out


@pytest.mark.browser
@pytest.mark.parametrize("which", [0, 1])
def test_report_renders_offline_in_chromium(results, which, browser, tmp_path: Path,
                                            artifacts_dir: Path):  # type: ignore[no-untyped-def]
    res = results[which]
    path = tmp_path / "report.html"
    path.write_text(res.to_html(), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    blocked: list[str] = []

    def route(r):  # type: ignore[no-untyped-def]
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    traffic = watch(page)
    page.goto(path.as_uri())
    page.wait_for_selector(".leaflet-container .leaflet-overlay-pane path")
    page.wait_for_timeout(300)
    n_paths = page.eval_on_selector_all(".leaflet-overlay-pane path", "els => els.length")
    n_features = len(res.features)
    assert n_paths == n_features  # one SVG path per feature (circle markers are paths too)
    summary = page.inner_text("#om-summary")
    assert "突发环境事件应急分析" in summary
    assert "1 km 内" in summary and "人口" in summary
    rows = page.eval_on_selector_all("#om-summary table tr", "els => els.length")
    assert rows >= 8
    legend = page.inner_text("#om-legend")
    assert "事件点" in legend and "缓冲圈" in legend
    if which == 1:
        assert "甲取水口" in summary and "下游取水口与断面" in summary
    page.screenshot(path=str(artifacts_dir / f"emergency-report-{which}.png"))
    page.close()
    assert traffic.console_errors == []
    assert traffic.failed == [] and blocked == []
    assert traffic.hosts <= {""}
