/*
 * Online monitoring in the page (see onemap/app/live.py):
 *   - the alarm ticker (#om-live, laid out only for users whose catalogue has the alarms layer):
 *     the recent alarms, then each one as the server pushes it (EventSource on
 *     /api/alarms/events; a 404 — not allowed — hides the strip quietly and is retried later);
 *     a click flies the map to the alarm and opens its popup;
 *   - the live layers fetched again by giving their GeoJSON a new URL (dash-leaflet refetches
 *     on a URL change), or a big one's vector tiles redrawn (assets/tiles.js): alarms when one
 *     arrives (debounced), devices when the summary's device counts change;
 *   - the dashboard's live card from /api/live/summary, on each alarm (debounced) and every 30 s;
 *   - an alarm's Acknowledge / Close buttons (POST with the CSRF header); the popups' HTML,
 *     and an outlet's recent readings, are drawn by assets/live_popups.js.
 */
(function () {
    "use strict";

    var REFRESH_MS = 30000, DEBOUNCE_MS = 400, SUMMARY_DEBOUNCE_MS = 1000, RETRY_MS = 30000;
    var MAX_ITEMS = 30;
    var root = null, cfg = null, source = null, theMap = null;
    var alarms = {};         /* alarm_id -> feature */
    var hideouts = {};       /* alarm_id -> the hideout its popup was drawn with */
    var refreshCount = 0, timers = {};

    function u() { return window.onemap.util; }
    function esc(v) { return u().esc(v); }
    function lang() {
        var el = document.querySelector("#om-lang input:checked");
        return el && el.value === "en" ? "en" : "zh";
    }
    function S(key, args) {
        var text = ((cfg && cfg.strings[lang()]) || {})[key] || "";
        Object.keys(args || {}).forEach(function (k) { text = text.replace("{" + k + "}", args[k]); });
        return text;
    }
    function hs(h, key, args) {
        var text = (h.strings && h.strings[key]) || "";
        Object.keys(args || {}).forEach(function (k) { text = text.replace("{" + k + "}", args[k]); });
        return text;
    }
    function later(name, ms, fn) {
        clearTimeout(timers[name]);
        timers[name] = setTimeout(fn, ms);
    }
    function number(v) {
        if (v === null || v === undefined || v === "" || isNaN(Number(v))) { return "—"; }
        return Number(v).toLocaleString(lang() === "en" ? "en" : "zh-CN",
                                        {maximumFractionDigits: 3});
    }
    function getJson(url) {
        return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/geo+json, application/json"}})
            .then(function (r) {
                if (!r.ok) { var e = new Error("HTTP " + r.status); e.status = r.status; throw e; }
                return r.json();
            });
    }

    // ---- the live layers ------------------------------------------------------------------
    function layerOn(id) {
        var box = document.querySelector('input.om-check[value="' + id + '"]');
        return !!(box && box.checked);
    }

    /* A URL the browser has not fetched last time: the OGC API refuses unknown parameters,
       so the page size (far above the rows a live layer has) changes by one each time. */
    function freshUrl(url) {
        refreshCount += 1;
        if (/[?&]limit=\d+/.test(url)) {
            return url.replace(/([?&]limit=)(\d+)/, function (_, k, n) {
                return k + Math.max(1, Number(n) - (refreshCount % 50));
            });
        }
        return url + (refreshCount % 2 ? "&offset=0" : "");
    }

    function refreshLayer(family) {
        var layer = cfg && cfg.layers[family];
        var set = window.dash_clientside && window.dash_clientside.set_props;
        if (!layer || !layerOn(layer.id)) { return; }
        /* a big one is drawn from vector tiles (assets/tiles.js): asked for again */
        if (window.onemap.tiles && window.onemap.tiles.redraw(layer.id)) { return; }
        if (set) { set("om-layer-" + layer.id, {url: freshUrl(layer.url)}); }
    }

    function liveOpen(feature) {
        var p = feature.properties || {};
        return p.status !== "closed";
    }

    /* An alarm's marker: a round sign in its rule's colour, pulsing while nobody acted. */
    function alarmIcon(color, status) {
        var html = '<span style="background:' + esc(color) + '">!</span>';
        return L.divIcon({html: html, className: "om-alarm-icon om-alarm-" + esc(status || "new"),
                          iconSize: L.point(22, 22), iconAnchor: L.point(11, 11),
                          popupAnchor: L.point(0, -10)});
    }

    function alarmPoint(feature, latlng, context) {
        var props = feature.properties || {};
        var h = context.hideout || {};
        var color = window.onemap.classColor((h.style || {}), props);
        return L.marker(latlng, {icon: alarmIcon(color, props.status), pane: context.pane,
                                 riseOnHover: true, zIndexOffset: 1000,
                                 title: props.outlet_code || ""});
    }

    // ---- the ticker -----------------------------------------------------------------------
    function label(kind, code) {
        var table = ((cfg.labels[lang()] || {})[kind]) || {};
        return table[code] || code || "";
    }

    function sorted() {
        return Object.keys(alarms).map(function (k) { return alarms[k]; }).sort(function (a, b) {
            var x = a.properties.updated || a.properties.start || "";
            var y = b.properties.updated || b.properties.start || "";
            return x < y ? 1 : x > y ? -1 : 0;
        }).slice(0, MAX_ITEMS);
    }

    function valueText(p) {
        var unit = p.unit ? " " + p.unit : "";
        if (p.value === null || p.value === undefined) { return ""; }
        var limit = (p.threshold !== null && p.threshold !== undefined)
            ? " / " + S("live_limit") + " " + number(p.threshold) + unit : "";
        return number(p.value) + (limit ? "" : unit) + limit;
    }

    function item(f) {
        var p = f.properties, color = cfg.colors[p.rule] || "#455A64";
        var over = p.value > p.threshold && p.threshold > 0;
        return '<li class="om-live-item om-live-' + esc(p.status || "new") + '" data-alarm="' +
            esc(p.alarm_id) + '" data-rule="' + esc(p.rule) + '" tabindex="0">' +
            '<span class="om-live-time">' + esc(u().formatTime(p.start || p.last || "")) + "</span>" +
            '<span class="om-live-rule" style="background:' + esc(color) + '">' +
            esc(label("rules", p.rule)) + "</span>" +
            (p.source_name ? '<span class="om-live-source">' + esc(p.source_name) + "</span>"
                           : "") +
            '<code class="om-live-outlet">' + esc(p.outlet_code || "") + "</code>" +
            '<span class="om-live-pollutant">' + esc(label("pollutants", p.pollutant) ||
                                                      p.pollutant_name || "") + "</span>" +
            '<span class="om-live-value' + (over ? " om-over" : "") + '">' + esc(valueText(p)) +
            "</span></li>";
    }

    function render() {
        if (!root) { return; }
        var list = sorted(), open = list.filter(liveOpen).length;
        root.querySelector(".om-live-title").textContent = S("live_title");
        root.querySelector(".om-live-count").textContent = open ? String(open) : "";
        var folded = root.classList.contains("om-live-folded");
        var fold = root.querySelector(".om-live-fold");
        fold.textContent = folded ? "▾" : "▴";
        fold.title = S(folded ? "live_unfold" : "live_fold");
        root.querySelector(".om-live-list").innerHTML = list.length ? list.map(item).join("")
            : '<li class="om-live-none">' + esc(S("live_empty")) + "</li>";
    }

    function state(text) {
        if (root) { root.querySelector(".om-live-state").textContent = text || ""; }
    }

    function remember(f) {
        if (!f || !f.properties || !f.properties.alarm_id) { return; }
        alarms[f.properties.alarm_id] = f;
    }

    function loadRecent() {
        var since = new Date(Date.now() - 24 * 3600 * 1000).toISOString().slice(0, 19) + "Z";
        var url = cfg.base + "ogc/collections/" + cfg.layers.alarms.id +
            "/items?f=json&limit=200&sortby=-updated&datetime=" + encodeURIComponent(since + "/..");
        return getJson(url).then(function (doc) {
            (doc.features || []).forEach(function (f) {
                if (!alarms[(f.properties || {}).alarm_id]) { remember(f); }
            });
            render();
            root.setAttribute("data-loaded", "1");
        }).catch(function () { return null; });
    }

    function onAlarm(e) {
        var f;
        try { f = JSON.parse(e.data); } catch (err) { return; }
        remember(f);
        render();
        later("alarms", DEBOUNCE_MS, function () { refreshLayer("alarms"); });
        later("summary", SUMMARY_DEBOUNCE_MS, loadSummary);
    }

    function connect() {
        if (source || !window.EventSource) { return; }
        source = new EventSource(cfg.base + "api/alarms/events");
        source.addEventListener("alarm", onAlarm);
        source.onopen = function () {
            root.hidden = false;
            root.setAttribute("data-state", "open");
            state("");
            loadRecent();
        };
        source.onerror = function () {
            if (source.readyState === EventSource.CLOSED) {
                /* Refused (404: this user may not see alarms, or logged out): quiet, and asked
                   again later (after a login the page is built anew anyway). */
                source.close();
                source = null;
                root.hidden = true;
                root.setAttribute("data-state", "closed");
                setTimeout(connect, RETRY_MS);
            } else {
                root.setAttribute("data-state", "lost");
                state(S("live_lost"));
            }
        };
    }

    /* Fly to an alarm and open its popup (its marker's, or one drawn from the ticker's copy
       when the layer is off or not yet fetched again). */
    function show(id) {
        var f = alarms[id];
        if (!f || !theMap || !f.geometry) { return; }
        var c = f.geometry.coordinates, ll = L.latLng(c[1], c[0]);
        theMap.once("moveend", function () { openPopup(id, ll, 0); });
        theMap.flyTo(ll, Math.max(theMap.getZoom(), 13), {duration: 0.6});
    }

    function markerOf(id) {
        var found = null;
        theMap.eachLayer(function (l) {
            if (!found && l.feature && l.feature.properties &&
                    l.feature.properties.alarm_id === id && l.getPopup && l.getPopup()) {
                found = l;
            }
        });
        return found;
    }

    function openPopup(id, ll, tries) {
        var m = markerOf(id);
        if (m) { m.openPopup(); return; }
        var h = hideouts[id] || hideouts._any;
        if (!h && tries < 20) {  // the layer is being fetched again: wait for its markers
            setTimeout(function () { openPopup(id, ll, tries + 1); }, 250);
            return;
        }
        if (h) {
            L.popup({maxWidth: 340, className: "om-popup-wrap"}).setLatLng(ll)
                .setContent(window.onemap.popupHtml(alarms[id], h)).openOn(theMap);
        }
    }

    /* A live layer fetched again is drawn anew, which closes the popup open on one of its
       alarms: open it again on the new marker (with the note being typed), or — the alarm
       now closed and off the layer — where it was, as it was last shown. A popup the user
       closed keeps its marker on the map and stays closed. */
    function keepOpen(e) {
        var el = e.popup.getElement && e.popup.getElement();
        var box = el && el.querySelector('.om-popup[data-family="alarms"]');
        var src = e.popup._source;
        if (!box || !src) { return; }
        var note = el.querySelector(".om-alarm-note");
        var saved = {id: box.getAttribute("data-key"), note: note ? note.value : "",
                     latlng: e.popup.getLatLng(),
                     html: (el.querySelector(".leaflet-popup-content") || {}).innerHTML || ""};
        setTimeout(function () {
            if (src._map || !theMap) { return; }  // closed by the user
            var m = markerOf(saved.id);
            if (m) {
                m.openPopup();
            } else {
                L.popup({maxWidth: 340, className: "om-popup-wrap"}).setLatLng(saved.latlng)
                    .setContent(saved.html).openOn(theMap);
            }
            var again = theMap._popup && theMap._popup.getElement() &&
                theMap._popup.getElement().querySelector(".om-alarm-note");
            if (again && saved.note) { again.value = saved.note; }
        }, 0);
    }

    // ---- the dashboard's live card --------------------------------------------------------
    var lastDevices = null;

    /* The summary, for the card; a change in the devices' counts also redraws the devices
       layer (a device coming online raises no alarm, so the 30 s poll is what sees it). */
    function loadSummary() {
        if (!cfg) { return; }
        getJson(cfg.base + "api/live/summary").then(function (doc) {
            var dev = doc.devices, al = doc.alarms, card = document.getElementById("db-live");
            var counts = JSON.stringify(dev || null);
            if (lastDevices !== null && counts !== lastDevices) { refreshLayer("devices"); }
            lastDevices = counts;
            if (!card) { return; }
            if (!dev && !al) { card.hidden = true; return; }
            card.hidden = false;
            var rate = dev && dev.online_rate !== null && dev.online_rate !== undefined
                ? (100 * dev.online_rate).toFixed(1) + "%" : "—";
            var set = function (key, text) {
                var el = card.querySelector('[data-kpi="' + key + '"]');
                if (el) { el.textContent = text; }
            };
            set("online_rate", rate);
            set("exceedances_24h", al ? String(al.exceedances_24h) : "—");
            set("open_alarms", al ? String(al.open) : "—");
            card.setAttribute("data-summary", JSON.stringify(doc));
            card.querySelector(".db-live-devices").textContent = dev
                ? S("db_live_devices", {online: dev.online, offline: dev.offline, unseen: dev.unseen})
                : "";
        }).catch(function () { return null; });
    }

    // ---- acting on an alarm (its popup: assets/live_popups.js) ---------------------------
    /* Show `feature` (the alarm as it is now) in the open popup and everywhere else. */
    function updated(feature, message) {
        var p = feature.properties, h = hideouts[p.alarm_id] || hideouts._any;
        remember(feature);
        render();
        var m = theMap && markerOf(p.alarm_id);
        if (m) { Object.assign(m.feature.properties, p); }
        var popup = theMap && theMap._popup;
        if (popup && h && popup.isOpen()) {
            popup.setContent(window.onemap.popupHtml(feature, h));
            var msg = popup.getElement() && popup.getElement().querySelector(".om-alarm-msg");
            var box = popup.getElement() && popup.getElement().querySelector(".om-popup");
            if (box) {
                box.insertAdjacentHTML("beforeend", '<div class="om-alarm-msg om-alarm-done" ' +
                    'role="status">' + esc(message) + "</div>");
            } else if (msg) { msg.textContent = message; }
        }
        later("alarms", DEBOUNCE_MS, function () { refreshLayer("alarms"); });
        later("summary", SUMMARY_DEBOUNCE_MS, loadSummary);
    }

    function act(box, action) {
        var id = box.getAttribute("data-alarm"), h = hideouts[id] || hideouts._any || {};
        var msg = box.querySelector(".om-alarm-msg");
        var note = (box.querySelector(".om-alarm-note") || {}).value || "";
        var buttons = box.querySelectorAll("button");
        var fail = function (text) {
            msg.textContent = text;
            msg.className = "om-alarm-msg om-error";
            buttons.forEach(function (b) { b.disabled = false; });
        };
        buttons.forEach(function (b) { b.disabled = true; });
        msg.textContent = hs(h, "al_busy");
        msg.className = "om-alarm-msg";
        fetch(h.actions + encodeURIComponent(id) + "/" + action, {
            method: "POST", credentials: "same-origin",
            headers: window.onemapCsrf({"Content-Type": "application/json",
                                        "Accept": "application/json"}),
            body: JSON.stringify(note.trim() ? {note: note.trim()} : {})
        }).then(function (resp) {
            if (resp.ok) {
                return resp.json().then(function (f) {
                    updated(f, hs(h, action === "close" ? "al_done_closed" : "al_done_acknowledged"));
                });
            }
            var known = [400, 401, 403, 404, 409].indexOf(resp.status) >= 0;
            fail(known ? hs(h, "al_err_" + resp.status) : hs(h, "al_err_other", {status: resp.status}));
            if (resp.status === 409) {  // someone else acted: show the alarm as it is now
                getJson(cfg.base + "ogc/collections/" + cfg.layers.alarms.id + "/items/" +
                        encodeURIComponent(id) + "?f=json").then(function (f) {
                    updated(f, hs(h, "al_err_409"));
                }).catch(function () { return null; });
            }
            return null;
        }).catch(function () { fail(hs(h, "al_err_network")); });
    }

    // ---- wiring ---------------------------------------------------------------------------
    function start(el) {
        root = el;
        var data = function (k) {
            try { return JSON.parse(el.getAttribute("data-" + k) || "{}"); } catch (e) { return {}; }
        };
        cfg = {base: el.getAttribute("data-base") || "/", layers: data("layers"),
               strings: data("strings"), labels: data("labels"), colors: data("colors")};
        render();
        connect();
        loadSummary();
        setInterval(loadSummary, REFRESH_MS);
    }

    new MutationObserver(function (_, obs) {
        var el = document.getElementById("om-live");
        if (el && el !== root) { start(el); }
        if (root && document.getElementById("db-live") && !timers.firstSummary) {
            timers.firstSummary = 1;
            loadSummary();
        }
        if (root && timers.firstSummary) { obs.disconnect(); }
    }).observe(document.documentElement, {childList: true, subtree: true});

    document.addEventListener("click", function (e) {
        var t = e.target && e.target.closest ? e.target : null;
        if (!t) { return; }
        var li = t.closest(".om-live-item");
        if (li) { show(li.getAttribute("data-alarm")); return; }
        if (t.closest(".om-live-fold") && root) {
            root.classList.toggle("om-live-folded");
            render();
            return;
        }
        var button = t.closest(".om-alarm-actions button");
        if (button) { act(button.closest(".om-alarm-actions"), button.getAttribute("data-act")); }
    });
    document.addEventListener("keydown", function (e) {
        var li = e.target && e.target.closest && e.target.closest(".om-live-item");
        if (li && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); show(li.getAttribute("data-alarm")); }
    });
    document.addEventListener("change", function (e) {
        if (e.target && e.target.closest && e.target.closest("#om-lang")) {
            setTimeout(function () { render(); loadSummary(); }, 0);
        }
    });

    if (window.L && L.Map && L.Map.addInitHook) {
        L.Map.addInitHook(function () {
            var map = this;
            map.whenReady(function () {
                if (map.getContainer().id === "om-map") {
                    theMap = map;
                    map.on("popupclose", keepOpen);
                }
            });
        });
    }

    window.onemap = Object.assign(window.onemap || {}, {
        liveOpen: liveOpen,
        alarmPoint: alarmPoint,
        live: {show: show, refreshLayer: refreshLayer, loadSummary: loadSummary,
               alarms: function () { return alarms; },
               /* whether this page has live monitoring (the ticker was laid out) */
               enabled: function () { return !!cfg; },
               /* the hideout an alarm's popup was drawn with (to draw it again) */
               drawnWith: function (id, h) { hideouts[id] = h; hideouts._any = h; },
               util: {number: number, hs: hs, getJson: getJson}}
    });
}());
