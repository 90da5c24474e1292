/*
 * Keeps the page URL equal to the map state (see onemap/app/urlstate.py):
 *   ?lang=zh&z=11&lat=31.71234&lon=117.30123&layers=air_stations,rivers&t=2025-01-22T00:00Z
 * with history.replaceState, a short while after the last change (a pan or a played hour
 * creates no history entry and no flood of URL writes). Parameters written by others are kept.
 * Nothing is written before the page has applied the URL it was opened with (`om-url-ready`).
 */
(function () {
    "use strict";

    var DEBOUNCE_MS = 300;
    var OURS = ["lang", "z", "lat", "lon", "layers", "t"];
    var timer = null;

    function enc(value) {
        // Commas and colons are legal in a query; keep the link readable.
        return encodeURIComponent(value).replace(/%2C/gi, ",").replace(/%3A/gi, ":");
    }

    function latLon(center) {
        if (Array.isArray(center) && center.length === 2) { return [center[0], center[1]]; }
        if (center && typeof center === "object" && "lat" in center && "lng" in center) {
            return [center.lat, center.lng];
        }
        return null;
    }

    /* "2025-01-22T00:00:00Z" -> "2025-01-22T00:00Z" */
    function shortTime(time) {
        var m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d)(:\d\d)?Z$/.exec(String(time || ""));
        return m ? m[1] + "Z" : null;
    }

    function query(state) {
        var parts = [];
        var keep = new URLSearchParams(window.location.search);
        keep.forEach(function (value, key) {
            if (OURS.indexOf(key) < 0) { parts.push(enc(key) + "=" + enc(value)); }
        });
        parts.push("lang=" + enc(state.lang));
        if (state.center) {
            parts.push("z=" + enc(String(state.zoom)));
            parts.push("lat=" + state.center[0].toFixed(5));
            parts.push("lon=" + state.center[1].toFixed(5));
        }
        parts.push("layers=" + enc(state.layers.join(",")));
        if (state.time) { parts.push("t=" + enc(state.time)); }
        return "?" + parts.join("&");
    }

    function write(ready, center, zoom, groups, rasters, time, lang) {
        if (!ready) { return window.dash_clientside.no_update; }
        var layers = [];
        (groups || []).concat(rasters || []).forEach(function (v) {
            (v || []).forEach(function (id) { if (layers.indexOf(id) < 0) { layers.push(id); } });
        });
        var ll = latLon(center);
        var z = Number(zoom);
        var state = {
            lang: lang === "en" ? "en" : "zh",
            center: ll && isFinite(ll[0]) && isFinite(ll[1]) && isFinite(z) ? ll : null,
            zoom: Math.round(z * 100) / 100,
            layers: layers,
            time: shortTime(time)
        };
        clearTimeout(timer);
        timer = setTimeout(function () {
            var search = query(state);
            if (search !== window.location.search) {
                var url = window.location.pathname + search + window.location.hash;
                window.history.replaceState(window.history.state, "", url);
            }
        }, DEBOUNCE_MS);
        return window.dash_clientside.no_update;
    }

    /* Hand the query string to the Python side (`om-url-go`) once the layer callback has
       answered its first call, i.e. the legend is drawn (or after WAIT_MS: an empty
       catalogue draws no legend). Watched in the DOM, not through a callback input: the
       legend is an output of the layer callback, which the link's layers are inputs of. */
    var WAIT_MS = 5000;
    var gated = false;

    function gate(search, ready) {
        if (ready || gated || search === null || search === undefined) {
            return window.dash_clientside.no_update;
        }
        gated = true;
        if (!String(search).replace(/^\?/, "")) {
            /* Nothing to apply: the page is as the link says; keep the URL from now on,
               without a round trip (apply in urlstate.py would change nothing). */
            window.dash_clientside.set_props("om-url-ready", {data: true});
            return window.dash_clientside.no_update;
        }
        var t0 = Date.now();
        (function poll() {
            var legend = document.getElementById("om-legend");
            if ((legend && legend.childElementCount > 0) || Date.now() - t0 > WAIT_MS) {
                window.dash_clientside.set_props("om-url-go", {data: String(search)});
            } else {
                setTimeout(poll, 50);
            }
        }());
        return window.dash_clientside.no_update;
    }

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        onemap_urlstate: {write: write, gate: gate}
    });
}());
