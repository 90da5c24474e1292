/*
 * OneMap login and logout, sent by the browser itself so the session cookie is the browser's:
 * POST /api/auth/login (same origin) then reload, so the page is built again as the user; POST
 * /api/auth/logout with the session's CSRF token then reload. Dash lays out the form
 * (app/login.py); this script only handles its events, and shows or hides its messages with
 * dash_clientside.set_props.
 *
 * window.onemapCsrf(headers) adds the session's X-CSRF-Token (from the script-readable
 * onemap_csrf cookie) to a headers object: every state-changing fetch of the page's scripts
 * sends it, or the server refuses a logged-in browser's write (403 CsrfFailed).
 */
(function () {
    "use strict";

    function csrfToken() {
        var m = document.cookie.match(/(?:^|;\s*)onemap_csrf=([^;]*)/);
        return m ? decodeURIComponent(m[1]) : "";
    }

    window.onemapCsrf = function (headers) {
        var h = headers || {};
        var token = csrfToken();
        if (token) { h["X-CSRF-Token"] = token; }
        return h;
    };

    function setProps(id, props) {
        var cc = window.dash_clientside || {};
        if (cc.set_props) { cc.set_props(id, props); }
    }

    function base() {
        var box = document.getElementById("om-account");
        return (box && box.getAttribute("data-base")) || "/";
    }

    function value(id) {
        var el = document.getElementById(id);
        return el ? String(el.value || "") : "";
    }

    function showError(id) {
        setProps("om-login-failed", {hidden: id !== "om-login-failed"});
        setProps("om-login-unavailable", {hidden: id !== "om-login-unavailable"});
    }

    var busy = false;

    function login() {
        if (busy) { return; }
        busy = true;
        showError(null);
        fetch(base() + "api/auth/login", {
            method: "POST",
            credentials: "same-origin",
            headers: {"Content-Type": "application/json", "Accept": "application/json"},
            body: JSON.stringify({user: value("om-login-user").trim(),
                                  password: value("om-login-password")})
        }).then(function (resp) {
            busy = false;
            if (resp.ok) { window.location.reload(); return; }
            showError(resp.status === 401 || resp.status === 400
                      ? "om-login-failed" : "om-login-unavailable");
        }).catch(function () {
            busy = false;
            showError("om-login-unavailable");
        });
    }

    function logout() {
        fetch(base() + "api/auth/logout", {
            method: "POST",
            credentials: "same-origin",
            headers: window.onemapCsrf({"Accept": "application/json"})
        }).catch(function () { return null; }).then(function () {
            window.location.reload();
        });
    }

    document.addEventListener("submit", function (e) {
        if (e.target && e.target.id === "om-login-form") {
            e.preventDefault();
            login();
        }
    });

    document.addEventListener("click", function (e) {
        var target = e.target && e.target.closest ? e.target : null;
        if (!target) { return; }
        if (target.closest("#om-login-open")) {
            var form = document.getElementById("om-login-form");
            var opening = !!(form && form.hidden);
            setProps("om-login-form", {hidden: !opening});
            if (opening) {
                setTimeout(function () {
                    var user = document.getElementById("om-login-user");
                    if (user) { user.focus(); }
                }, 0);
            }
        } else if (target.closest("#om-logout")) {
            logout();
        }
    });
})();
