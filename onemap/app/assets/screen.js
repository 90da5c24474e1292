/* The big screen (onemap/app/screen.py): ?mode=screen lays the page out for a wall
 * (assets/screen.css) and keeps it current without a person — a tour of the themes, the data
 * re-read when its versions change, a reload once a restarted server answers again. */
(function () {
    "use strict";

    var query = new URLSearchParams(window.location.search);
    if (query.get("mode") !== "screen") { return; }
    /* before React draws anything: the first paint is already the screen's */
    document.documentElement.setAttribute("data-mode", "screen");

    var head = null, tour = [], step = -1, versions = null, lost = false;
    var timers = {};

    function lang() {
        var box = document.querySelector("#om-lang input:checked");
        return box && box.value === "en" ? "en" : "zh";
    }
    function S(key, args) {
        var all = JSON.parse(head.dataset.strings || "{}");
        var text = ((all[lang()] || {})[key]) || ((all.zh || {})[key]) || "";
        Object.keys(args || {}).forEach(function (k) { text = text.split("{" + k + "}").join(args[k]); });
        return text;
    }
    function period(name, fallback) {
        var v = Number(query.get(name) || head.dataset[name] || fallback);
        return Math.max(2, isFinite(v) ? v : fallback) * 1000;
    }
    function set(id, props) {
        var cc = window.dash_clientside;
        if (cc && cc.set_props) { cc.set_props(id, props); }
    }
    function say(selector, text) {
        var el = head.querySelector(selector);
        if (el && el.textContent !== text) { el.textContent = text; }
    }

    /* ---- the clock and the data's time ----------------------------------------------- */
    function clock() {
        var now = new Date(Date.now() + 8 * 3600 * 1000);  /* Beijing, whatever the wall's zone */
        var t = now.toISOString().slice(0, 19).replace("T", " ");
        say(".om-sc-clock", S("sc_clock", {time: t}));
        var data = document.getElementById("db-now-text");
        say(".om-sc-data", data ? data.textContent : "");
    }

    /* ---- the tour ---------------------------------------------------------------------- */
    function next() {
        if (!tour.length) { return; }
        step = (step + 1) % tour.length;
        var layer = tour[step];
        set("om-goto", {data: {bounds: layer.bounds, layers: [layer.id]}});
        document.querySelectorAll(".db-card.om-sc-focus").forEach(function (c) {
            c.classList.remove("om-sc-focus");
        });
        var card = document.querySelector('.db-card[data-kpi="' + layer.card + '"]');
        if (card) { card.classList.add("om-sc-focus"); }
        head.setAttribute("data-showing", layer.id);
        say(".om-sc-showing", S("sc_showing", {layer: layer.title[lang()] || layer.title.zh}));
    }

    /* ---- data versions, and the server coming back ------------------------------------- */
    function base() { return head.dataset.base || "/"; }
    function changed(fresh) {
        var ids = [];
        Object.keys(fresh).forEach(function (id) {
            if (versions[id] !== fresh[id]) { ids.push(id); }
        });
        return ids;
    }
    function look() {
        fetch(base() + "api/versions", {credentials: "same-origin", cache: "no-store",
                                        headers: {Accept: "application/json"}})
            .then(function (r) {
                if (!r.ok) { throw new Error("HTTP " + r.status); }
                return r.json();
            })
            .then(function (doc) {
                var fresh = doc.versions || {};
                if (lost) { back(); return; }
                if (versions !== null) {
                    var ids = changed(fresh);
                    if (ids.length) {
                        set("db-reload", {data: Date.now()});  /* the cards: changed KPIs only */
                        tour.forEach(function (layer) {  /* the tour's layers: read again */
                            if (ids.indexOf(layer.id) >= 0 && layer.url) {  /* a new fragment */
                                set("om-layer-" + layer.id,  /* (never sent): a new URL to fetch */
                                    {url: layer.url.split("#")[0] + "#v=" + fresh[layer.id]});
                            }
                        });
                    }
                }
                versions = fresh;
            })
            .catch(function () { gone(); });
    }
    function gone() {
        if (!lost) {
            lost = true;
            document.documentElement.setAttribute("data-lost", "1");
            say(".om-sc-state", S("sc_lost"));
            clearInterval(timers.tour);
        }
    }
    function back() {
        say(".om-sc-state", S("sc_back"));
        window.location.reload();
    }
    function watchHealth() {  /* while lost: a cheap question every few seconds */
        if (!lost) { return; }
        fetch(base() + "healthz", {cache: "no-store"})
            .then(function (r) { if (r.ok) { back(); } })
            .catch(function () { return null; });
    }

    function scale() {  /* how much larger than 1920 px wide: the map and legend zoom by it */
        document.documentElement.style.setProperty("--sc-scale",
                                                   String(Math.max(1, window.innerWidth / 1920)));
    }
    scale();
    window.addEventListener("resize", scale);

    function start() {
        head = document.getElementById("om-screen");
        if (!head || !document.getElementById("om-map") || !window.dash_clientside ||
                !window.dash_clientside.set_props) {
            setTimeout(start, 200);
            return;
        }
        tour = JSON.parse(head.dataset.tour || "[]");
        clock();
        timers.clock = setInterval(clock, 1000);
        look();
        timers.look = setInterval(function () { if (!lost) { look(); } }, period("refresh", 30));
        timers.health = setInterval(watchHealth, 3000);
        /* the first theme once the page's own first answers are in */
        setTimeout(next, 1500);
        timers.tour = setInterval(next, period("rotate", 20));
    }
    start();

    window.onemap = Object.assign(window.onemap || {}, {screen: {next: next, look: look}});
}());
