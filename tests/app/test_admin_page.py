"""The admin page in a real browser against the real server: an admin manages a county user,
an API key, a rule and reads the audit trail through the page, and every change is checked on
the server itself (``/api/admin`` with the admin caller's key, the new key used with
``requests``); in English every label is English; a viewer and a visitor get the server's
refusal in words and no data.

Names are new on every run (the live server is shared by the whole session and kept across
tests); the shared callers' accounts are only read.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone

import pytest
import requests
from playwright.sync_api import expect

from tests.app.test_csp import LISTEN
from tests.browsing import features, watch

pytestmark = [pytest.mark.browser, pytest.mark.server]

COUNTY, OTHER_COUNTY = "340124", "340181"
BEIJING = timezone(timedelta(hours=8))
PAGE = 100  # audit records a page (onemap.app.admin.audit.PAGE)
PASSWORD, NEW_PASSWORD = "Sturdy-Otter-4242", "Brisk-Heron-5353"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
#: Every text a user sees on the page (labels, cells, placeholders, tooltips) but the language
#: selector, which names each language in itself.
SHOWN = """() => {
    const out = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) {
        const node = walk.currentNode, el = node.parentElement, text = node.textContent.trim();
        if (!text || !el || el.closest('script,style,#om-lang')) continue;
        const cell = el.closest('#adm-audit-table tbody td');  // data, but the outcome
        if (cell && cell.cellIndex !== 6) continue;
        const r = el.getBoundingClientRect();
        if (r.width && r.height) out.push(text);
    }
    for (const el of document.querySelectorAll('[placeholder],[title],[aria-label]')) {
        const r = el.getBoundingClientRect();
        if (!r.width || !r.height || el.closest('#adm-audit-table tbody')) continue;
        for (const a of ['placeholder', 'title', 'aria-label']) {
            const v = el.getAttribute(a); if (v && v.trim()) out.push(v.trim());
        }
    }
    return out;
}"""


@pytest.fixture(scope="module", autouse=True)
def _patient() -> None:
    """The machine is shared: a state a test waits for may take a while to come."""
    expect.set_options(timeout=60_000)


def _open(browser, login, who: str | None = "admin"):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.set_default_timeout(60_000)
    page.add_init_script(LISTEN)
    if who:
        login(page, who)
    return page, watch(page)


def _clean(page, traffic) -> None:  # type: ignore[no-untyped-def]
    """No CSP violation, console error or failed request: the server's refusals reach the
    page as words, not as broken requests."""
    assert page.evaluate("window.__csp") == []
    assert traffic.console_errors == [] and traffic.failed == [], traffic


def _server(base: str, caller, path: str) -> requests.Response:  # type: ignore[no-untyped-def]
    return requests.get(f"{base}/api/admin/{path}", headers=caller.headers, timeout=30)


def _log_in(base: str, user: str, password: str) -> int:
    return requests.post(f"{base}/api/auth/login", json={"user": user, "password": password},
                         timeout=30).status_code


def _region_name(base: str, code: str) -> str:
    """The county's name as the public boundaries layer has it (not as the page shows it)."""
    return next(f["properties"]["name"] for f in features(base, "admin_boundaries")
                if f["properties"]["adcode"] == code)


def _tab(page, tab: str) -> None:  # type: ignore[no-untyped-def]
    page.click(f".adm-tab[data-tab={tab}]")
    expect(page.locator(f".adm-section[data-tab={tab}]")).to_be_visible()


def _settled(page) -> None:  # type: ignore[no-untyped-def]
    """Every callback the last change set off has answered (Dash marks what it updates)."""
    expect(page.locator("[data-dash-is-loading]")).to_have_count(0)


def _search(page, **filters: str) -> None:  # type: ignore[no-untyped-def]
    """A search of the audit with these filters (the others emptied); the caller waits for a
    state only the new result can have."""
    for field in ("user", "action"):
        page.fill(f"#adm-audit-{field}", filters.get(field, ""))
    page.click("#adm-audit-apply")


def test_an_admin_manages_a_county_user(live_server: str, browser, login, callers,
                                        artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    admin = callers["admin"]
    name = f"adm{secrets.token_hex(3)}"
    page, traffic = _open(browser, login)
    page.goto(live_server + "/")  # the map: the admin's corner links to the page
    page.locator("#om-account a.om-account-link").click()
    page.wait_for_url(f"{live_server}/admin/")
    users = page.locator("#adm-users-table")
    expect(users.locator(f"tr[data-key={admin.user}]")).to_be_visible()

    # a refused user: the server's own reason next to the form, and no account made
    page.fill("#adm-user-name", name)
    page.fill("#adm-user-display", "County officer")
    page.fill("#adm-user-password", "weak")
    page.fill("#adm-user-region", COUNTY)
    page.click("#adm-user-add")
    expect(page.locator("#adm-user-add-msg .adm-error")).to_contain_text(
        "HTTP 422): password too short")
    assert _server(live_server, admin, f"users/{name}").status_code == 404

    page.fill("#adm-user-password", PASSWORD)
    page.click("#adm-user-add")
    expect(page.locator("#adm-user-add-msg .adm-ok")).to_contain_text(name)
    row = users.locator(f"tr[data-key={name}]")
    expect(row).to_contain_text(f"{COUNTY} {_region_name(live_server, COUNTY)}")
    expect(row).to_contain_text("查看")
    held = _server(live_server, admin, f"users/{name}").json()
    assert (held["roles"], held["region"], held["display"], held["disabled"],
            held["has_password"]) == (["viewer"], COUNTY, "County officer", False, True)
    page.screenshot(path=str(artifacts_dir / "admin-users.png"), full_page=True)

    # an API key, shown once; it works for the new user, then is revoked in the page
    _tab(page, "keys")
    page.fill("#adm-key-user", name)
    page.fill("#adm-key-name", "qgis desk")
    page.click("#adm-key-create")
    shown = page.locator("#adm-key-secret-value")
    expect(shown).to_have_text(re.compile(r"^om_[a-z0-9]{12}_\S{43}$"))
    expect(page.locator("#adm-key-secret-box .adm-warning")).to_contain_text("只显示这一次")
    expect(page.locator("#adm-key-secret-box .adm-copy")).to_be_visible()
    secret = shown.inner_text()
    key_id = secret.split("_")[1]
    bearer = {"Authorization": f"Bearer {secret}"}
    me = requests.get(f"{live_server}/api/auth/me", headers=bearer, timeout=30).json()
    assert (me["user"], me["region"], me["via"]) == (name, COUNTY, "key")
    key_row = page.locator(f"#adm-keys-table tr[data-key='{key_id}']")
    expect(key_row).to_contain_text("有效")
    page.screenshot(path=str(artifacts_dir / "admin-key-once.png"), full_page=True)
    key_row.locator("button").click()
    expect(key_row).not_to_contain_text("有效")
    expect(key_row.locator("button")).to_have_count(0)
    assert requests.get(f"{live_server}/api/auth/me", headers=bearer,
                        timeout=30).status_code == 401
    listed = _server(live_server, admin, f"keys?user={name}").json()["keys"]
    assert [(k["id"], bool(k["revoked"])) for k in listed] == [(key_id, True)]

    # a rule, added and removed (about datasets that do not exist: no other test sees it)
    _tab(page, "rules")
    glob = f"zz_{name}_*"
    page.check("#adm-rule-role input[value=anonymous]")
    page.fill("#adm-rule-dataset", glob)
    page.fill("#adm-rule-priority", "7")
    page.click("#adm-rule-add")
    rule_row = page.locator("#adm-rules-table tbody tr", has_text=glob)
    expect(rule_row).to_contain_text("拒绝")
    rules = [r for r in _server(live_server, admin, "rules").json()["rules"]
             if r["dataset"] == glob]
    assert [(r["role"], r["allow"], r["priority"]) for r in rules] == [("anonymous", False, 7)]
    rule_row.locator("button").click()
    expect(rule_row).to_have_count(0)
    assert glob not in {r["dataset"] for r in _server(live_server, admin, "rules").json()["rules"]}

    # a grant (roles and region together), then the account disabled
    _tab(page, "users")
    row.locator("button").click()
    expect(page.locator("#adm-edit-who")).to_have_text(name)
    expect(page.locator("#adm-edit-region")).to_have_value(COUNTY)
    expect(page.locator("#adm-edit-roles input[value=viewer]")).to_be_checked()
    page.check("#adm-edit-roles input[value=analyst]")
    page.fill("#adm-edit-region", OTHER_COUNTY)
    page.click("#adm-edit-grant")
    expect(row).to_contain_text(f"{OTHER_COUNTY} {_region_name(live_server, OTHER_COUNTY)}")
    _settled(page)
    held = _server(live_server, admin, f"users/{name}").json()
    assert (sorted(held["roles"]), held["region"]) == (["analyst", "viewer"], OTHER_COUNTY)
    page.fill("#adm-edit-region", "999999")  # not a region of the boundaries: refused
    page.click("#adm-edit-grant")
    expect(page.locator("#adm-user-edit-msg .adm-error")).to_contain_text("unknown region")
    assert _server(live_server, admin, f"users/{name}").json()["region"] == OTHER_COUNTY
    # a new password: the user logs in with it; then the account disabled: no more
    page.fill("#adm-edit-password", NEW_PASSWORD)
    page.click("#adm-edit-setpw")
    expect(page.locator("#adm-user-edit-msg .adm-ok")).to_contain_text(name)
    expect(page.locator("#adm-edit-password")).to_have_value("")
    assert _log_in(live_server, name, PASSWORD) == 401
    assert _log_in(live_server, name, NEW_PASSWORD) == 200
    page.click("#adm-edit-disable")
    expect(row).to_contain_text("已停用")
    expect(page.locator("#adm-edit-enable")).to_be_visible()
    assert _server(live_server, admin, f"users/{name}").json()["disabled"] is True
    assert _log_in(live_server, name, NEW_PASSWORD) == 401

    # the audit trail holds what the page just did, newest first, in Beijing time
    _tab(page, "audit")
    trail = page.locator("#adm-audit-table tbody tr")
    expect(trail.filter(has_text="user_change").filter(has_text=name).first).to_be_visible()
    _search(page, action="user_create", user=admin.user)
    expect(trail.locator("td:nth-child(5)", has_not_text="user_create")).to_have_count(0)
    made = trail.filter(has_text=name)
    expect(made).to_have_count(2)  # the refused attempt too, older
    expect(made.nth(0)).to_contain_text("成功 (201)")
    expect(made.nth(1)).to_contain_text("失败 (422)")
    _search(page, action="key_create")
    expect(trail.filter(has_text=f"/api/admin/users/{name}/keys")).to_have_count(1)
    _search(page, action="key_revoke", user=admin.user)
    expect(trail.first).to_contain_text(key_id)
    stamp, who, _via, where = trail.first.locator("td").all_inner_texts()[:4]
    newest = _server(live_server, admin, "audit?action=key_revoke&limit=1").json()["records"][0]
    assert newest["target"] == key_id and (who, where) == (admin.user, newest["address"])
    assert stamp == datetime.fromisoformat(newest["time"]).astimezone(BEIJING).strftime(
        "%Y-%m-%d %H:%M:%S")
    page.screenshot(path=str(artifacts_dir / "admin-audit.png"), full_page=True)
    # days are Beijing days: none from tomorrow on, today's records up to today
    today = datetime.now(BEIJING).date()
    page.fill("#adm-audit-since", (today + timedelta(days=1)).isoformat())
    _search(page, action="key_revoke", user=admin.user)
    expect(page.locator("#adm-audit-table")).to_have_text("暂无记录")
    page.fill("#adm-audit-since", today.isoformat())
    page.fill("#adm-audit-until", today.isoformat())
    _search(page, action="key_revoke", user=admin.user)
    expect(trail.first).to_contain_text(key_id)
    # a page at a time: more refused writes than a page holds, then the older ones below
    session = requests.Session()
    for i in range(PAGE + 1):  # rules that do not exist: 404, recorded as failed
        assert session.delete(f"{live_server}/api/admin/rules/{10**9 + i}",
                              headers=admin.headers, timeout=30).status_code == 404
    page.fill("#adm-audit-since", "")
    page.fill("#adm-audit-until", "")
    page.check("#adm-audit-outcome input[value=failed]")
    _search(page, action="rule_change", user=admin.user)
    expect(trail).to_have_count(PAGE)
    expect(page.locator("#adm-audit-count")).to_have_text(f"显示 {PAGE} 条（最新在前）")
    first_page = [int(k) for k in trail.evaluate_all("rs => rs.map(r => r.dataset.key)")]
    assert first_page == sorted(first_page, reverse=True)
    expect(trail.first).to_contain_text(str(10**9 + PAGE))
    page.click("#adm-audit-older")
    expect(trail.first).not_to_have_attribute("data-key", str(first_page[0]))
    older = [int(k) for k in trail.evaluate_all("rs => rs.map(r => r.dataset.key)")]
    assert older and max(older) < min(first_page)
    expect(trail.first).to_contain_text(str(10**9))
    _clean(page, traffic)
    page.close()


def test_the_page_in_english(live_server: str, browser, login, callers) -> None:  # type: ignore[no-untyped-def]
    page, traffic = _open(browser, login)
    page.goto(live_server + "/?lang=en")  # the map in English links to the page in English
    link = page.locator("#om-account a.om-account-link")
    expect(link).to_have_attribute("href", "/admin/?lang=en")
    link.click()
    expect(page.locator(".adm-tab").first).to_have_text("Users")
    expect(page.locator("#adm-users-table th").first).to_have_text("User name")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # data values may be Chinese (region and display names): read from the server itself
    doc = _server(live_server, callers["admin"], "users").json()
    data = {u["display"] for u in doc["users"]} | {
        f["properties"]["name"] for f in features(live_server, "admin_boundaries")}
    for tab, heading in (("users", "User name"), ("keys", "Id"), ("rules", "Order"),
                         ("audit", "Time (Beijing)")):
        _tab(page, tab)
        expect(page.locator(f"#adm-{tab}-table")).to_have_text(  # drawn in English
            re.compile(rf"^({re.escape(heading)}|No records)"))
        shown = page.evaluate(SHOWN)
        chinese = {s for s in shown if CJK.search(s)
                   and not any(s == d or s.endswith(f" {d}") for d in data if d)}
        assert not chinese, (tab, sorted(chinese)[:20])
    # the switch back to Chinese, in the page, rewrites the labels and the URL
    page.locator("#om-lang input[value=zh]").check()
    expect(page.locator(".adm-tab").first).to_have_text("用户")
    expect(page.locator("#adm-audit-table th").first).to_have_text("时间（北京时间）")
    expect(page).to_have_url(f"{live_server}/admin/")
    expect(page).to_have_title("OneMap 系统管理")
    _clean(page, traffic)
    page.close()


def test_a_viewer_and_a_visitor_are_refused(live_server: str, browser, login, callers
                                            ) -> None:  # type: ignore[no-untyped-def]
    page, traffic = _open(browser, login, "viewer")
    page.goto(live_server + "/")
    expect(page.locator("#om-account-name")).to_have_text("viewer")
    expect(page.locator("#om-account a.om-account-link")).to_have_count(0)
    with page.expect_response(lambda r: r.url.endswith("/admin/_dash-layout")) as got:
        page.goto(live_server + "/admin/")
    expect(page.locator("#adm-refused")).to_have_text(
        "仅管理员可以使用此页面：当前账号没有管理员角色。")
    assert page.locator("table, #adm-main, .adm-section").count() == 0
    # nothing of the accounts reached the browser either (the server refused the page's ask)
    assert not [c for c in ("viewer_a", "viewer_b", "analyst_a", "manager_a", "commander")
                if f'"{c}"' in got.value.text()]
    page.goto(live_server + "/admin/?lang=en")
    expect(page.locator("#adm-refused")).to_contain_text("Administrators only")
    _clean(page, traffic)
    page.close()

    page, traffic = _open(browser, login, None)  # a visitor: asked to log in
    page.goto(live_server + "/admin/")
    expect(page.locator("#adm-refused")).to_contain_text("请先登录")
    expect(page.locator("#adm-refused a")).to_have_attribute("href", "/")
    assert page.locator("table").count() == 0
    _clean(page, traffic)
    page.close()
