"""The admin page's pure parts: how it writes times, regions, roles, users, keys, rules and
audit records; the filters it sends; how it words a server's answer; and that it runs under
the map's Content-Security-Policy (no inline script of its own)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dash import html
from flask import Flask

from onemap.app.admin import api, audit, keys, rules, users
from onemap.app.admin.fmt import beijing, day_bounds, message, region_label, roles_text, table
from onemap.app.admin.page import create_admin, refusal
from onemap.app.login import account_box, admin_href
from onemap.config import Settings
from tests.app.test_emergency import _text as shown

NAMES = {"340124": "庐江县", "340181": "巢湖市"}


def _text(node: object) -> str:
    """The text a component shows, white space folded."""
    return " ".join(shown(node).split())


def test_times_are_beijing_time() -> None:
    assert beijing("2026-05-01T16:30:05.123456+00:00") == "2026-05-02 00:30:05"
    assert beijing("2026-05-01T08:00:00+08:00") == "2026-05-01 08:00:00"
    assert beijing(None) == beijing("") == "—"
    assert beijing("soon") == "soon"


def test_days_are_beijing_days_until_inclusive() -> None:
    assert day_bounds("2026-05-01", "2026-05-02") == ("2026-05-01T00:00:00+08:00",
                                                      "2026-05-03T00:00:00+08:00")
    assert day_bounds(None, "") == (None, None)
    assert day_bounds("2026-13-01", None) == ("2026-13-01", None)  # the server names it


def test_regions_by_name() -> None:
    assert region_label("340124", NAMES, "zh") == "340124 庐江县"
    assert region_label("340199", NAMES, "en") == "340199"  # not in the boundaries: the code
    assert region_label(None, NAMES, "zh") == "全域"
    assert region_label("", NAMES, "en") == "All regions"


def test_roles_in_words() -> None:
    assert roles_text(["viewer", "data_manager"], "zh") == "查看, 数据管理员"
    assert roles_text(["admin"], "en") == "Administrator"
    assert roles_text(["surveyor"], "en") == "surveyor"  # a role the page does not know yet
    assert roles_text([], "en") == "—"


def test_user_rows() -> None:
    now = datetime(2026, 5, 1, tzinfo=UTC)
    user = {"name": "chen", "display": "陈", "roles": ["viewer"], "region": "340124",
            "disabled": False, "has_password": False, "locked_until": None,
            "created": "2026-04-30T16:00:00+00:00", "sessions": 2}
    assert users.user_cells(user, NAMES, "en", now) == [
        "chen", "陈", "Viewer", "340124 庐江县", "Active", "None (API keys only)", "2",
        "2026-05-01 00:00:00"]
    locked = {**user, "locked_until": "2026-05-01T00:15:00+00:00"}
    assert users.state_text(locked, "zh", now) == "锁定至 2026-05-01 08:15:00"
    assert users.state_text(locked, "zh", datetime(2026, 5, 2, tzinfo=UTC)) == "启用"
    assert users.state_text({**locked, "disabled": True}, "en", now) == "Disabled"


def test_key_rows_never_hold_a_secret() -> None:
    key = {"id": "0123456789ab", "user": "chen", "name": "qgis", "created":
           "2026-05-01T00:00:00+00:00", "last_used": None, "revoked": None}
    assert keys.key_cells(key, "en") == ["0123456789ab", "chen", "qgis", "2026-05-01 08:00:00",
                                         "—", "Live"]
    revoked = {**key, "revoked": "2026-05-01T01:00:00+00:00"}
    assert keys.key_cells(revoked, "zh")[-1] == "2026-05-01 09:00:00"
    box = keys.secret_box({**key, "key": "om_0123456789ab_" + "s" * 43}, "en")
    assert "om_0123456789ab_" + "s" * 43 in _text(box) and "only this once" in _text(box)


def test_rule_rows_keep_the_role_code() -> None:
    rule = {"id": 4, "priority": 7, "role": "anonymous", "dataset": "pollution_*",
            "allow": False, "created": "2026-05-01T00:00:00+00:00", "created_by": "admin"}
    assert rules.rule_cells(1, rule, "en") == [
        "1", "7", "Anonymous visitors (anonymous)", "pollution_*", "Deny",
        "2026-05-01 08:00:00", "admin"]
    assert rules.rule_cells(2, {**rule, "role": "*", "allow": True}, "zh")[2:5] == [
        "所有人（*）", "pollution_*", "允许"]
    assert [o["value"] for o in rules.rule_role_options(["viewer"], "en")] == [
        "*", "anonymous", "viewer"]


def test_audit_rows_and_filters() -> None:
    rec = {"id": 9, "time": "2026-05-01T00:00:01+00:00", "user": "", "via": "anonymous",
           "key": None, "address": "10.1.2.3", "action": "login_failed", "target": "",
           "path": "/api/auth/login", "status": 401, "outcome": "denied",
           "detail": {"reason": "wrong password"}}
    assert audit.record_cells(rec, "zh") == [
        "2026-05-01 08:00:01", "匿名", "anonymous", "10.1.2.3", "login_failed",
        "/api/auth/login", "拒绝 (401)"]
    keyed = {**rec, "user": "ann", "via": "key", "key": "tests", "target": "k1",
             "outcome": "ok", "status": 200}
    assert audit.record_cells(keyed, "en")[1:] == [
        "ann", "key: tests", "10.1.2.3", "login_failed", "k1", "OK (200)"]
    shown = audit.records_table([rec], "en")
    assert shown.children[1].children[0].title == '{"reason": "wrong password"}'
    assert audit.query(" ann ", "", "", "2026-05-01", "2026-05-01") == {
        "user": "ann", "since": "2026-05-01T00:00:00+08:00",
        "until": "2026-05-02T00:00:00+08:00", "limit": audit.PAGE}
    assert audit.query(None, "user_create", "failed", None, None) == {
        "action": "user_create", "outcome": "failed", "limit": audit.PAGE}


def test_the_servers_answer_in_words() -> None:
    refused = api.Answer(422, {"code": "InvalidParameter",
                               "detail": "password too short: at least 12 characters"})
    assert _text(message(refused, "en", "adm_user_added", "chen")) == (
        "Not done (HTTP 422): password too short: at least 12 characters")
    invalid = api.Answer(422, {"detail": [{"loc": ["body", "name"], "msg": "too short"}]})
    assert invalid.detail == "name: too short"
    assert _text(message(api.Answer(201, {}), "zh", "adm_user_added", "chen")) == (
        "已添加用户 chen")
    assert api.Answer(0, {"detail": "ConnectionError"}).detail == "ConnectionError"
    assert "仅管理员" in _text(refusal(api.Answer(403, {}), "zh", "/"))
    assert "log in" in _text(refusal(api.Answer(401, {}), "en", "/"))
    assert "HTTP 502" in _text(refusal(api.Answer(502, {"detail": "down"}), "en", "/"))


def test_paths_are_quoted() -> None:
    assert api.path("users", "a/b", "keys") == "/api/admin/users/a%2Fb/keys"
    assert api.path("rules", 3) == "/api/admin/rules/3"


def test_empty_table_says_so() -> None:
    assert _text(table("t", ["a"], [], "en")) == "No records"
    rows = table("t", ["a", "b"], [["1", html.B("2")]], "zh", keys=["k"])
    assert isinstance(rows, html.Table) and _text(rows) == "a b 1 2"


def test_the_admin_link_is_for_admins() -> None:
    def links(me: dict) -> list:
        box = account_box(me, "zh", "/x/")
        return [c for c in box.children if isinstance(c, html.A)]
    admin = links({"user": "root", "roles": ["admin", "viewer"]})
    assert [a.href for a in admin] == ["/x/admin/"]
    assert links({"user": "ann", "roles": ["viewer", "data_manager"]}) == []
    assert links({}) == []
    assert admin_href("/", "en") == "/admin/?lang=en"


def test_no_inline_script_of_its_own(tmp_path: Path) -> None:
    """The server's CSP allows the map app's inline scripts by hash; every inline script of
    the admin page must be one of them (its only others come from files in assets/)."""
    from onemap.app import create_dash

    settings = Settings(data_dir=tmp_path)
    page = create_admin(settings, Flask("admin-test"), "{%app_entry%}{%config%}{%scripts%}"
                        "{%renderer%}")
    assert set(page.csp_hashes()) <= set(create_dash(settings).csp_hashes())
