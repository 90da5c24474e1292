/*
 * OneMap rasters in the browser: play/pause of a series' time slider and the pixel values shown
 * when the map is clicked.
 *
 * The layer callback (app/dashapp.py) writes the visible rasters into the `om-visible-rasters`
 * store: for each its title, the titiler point URL template of the step shown
 * (".../point/{lon},{lat}?..."), bounds, band names, value label and unit. A clientside callback
 * hands that to setVisible; a click on the map (not on a feature with a popup) asks for the value of
 * every visible raster under the cursor and shows them in one popup ("NDVI 0.63", or one row per
 * band with its name; masked pixels read "无数据 / no data").
 */
(function () {
    "use strict";

    var visible = {lang: "zh", rasters: []};
    var strings = {};

    function esc(value) {
        return String(value).replace(/[&<>"']/g, function (c) {
            return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
        });
    }

    function S() { return strings[visible.lang] || strings.zh || {}; }

    function inside(bounds, lon, lat) {
        if (!bounds || bounds.length !== 4) { return true; }
        return lon >= bounds[0] && lon <= bounds[2] && lat >= bounds[1] && lat <= bounds[3];
    }

    function pointUrl(template, lon, lat) {
        return template.replace(/\{lon\}|%7Blon%7D/i, lon.toFixed(6))
                       .replace(/\{lat\}|%7Blat%7D/i, lat.toFixed(6));
    }

    function number(v) {
        if (Number.isInteger(v)) { return String(v); }
        var a = Math.abs(v);
        return v.toFixed(a < 10 ? 2 : a < 1000 ? 1 : 0);
    }

    function missing(v) {
        return v === null || v === undefined || (typeof v === "number" && !isFinite(v));
    }

    /* The name of value i: the layer's value label, or the band name behind "b3". */
    function valueName(r, bandName, i, count) {
        var m = /^b(\d+)$/.exec(String(bandName || ""));
        if (m && r.bands && r.bands[Number(m[1]) - 1]) {
            return count === 1 && r.value_label ? r.value_label : r.bands[Number(m[1]) - 1];
        }
        if (count === 1 && r.value_label) { return r.value_label; }
        return bandName && !/[()+\-*/]/.test(bandName) ? bandName
            : (r.value_label || S().pixel_value || "value") + (count > 1 ? " " + (i + 1) : "");
    }

    function flatten(values) {
        var out = [];
        (function walk(v) {
            if (Array.isArray(v)) { v.forEach(walk); } else { out.push(v); }
        }(values));
        return out;
    }

    function rowsHtml(r, body) {
        var values = flatten(body && body.values !== undefined ? body.values : []);
        var names = (body && body.band_names) || [];
        var rows = "";
        values.forEach(function (v, i) {
            var text = missing(v) ? esc(S().no_data || "no data")
                : esc(number(Number(v))) + (r.unit ? " " + esc(r.unit) : "");
            rows += "<tr><th>" + esc(valueName(r, names[i], i, values.length)) + "</th>" +
                '<td class="om-pixel-value" data-value="' + (missing(v) ? "" : esc(v)) + '">' +
                text + "</td></tr>";
        });
        if (!values.length) {
            rows = "<tr><td>" + esc(S().no_data || "no data") + "</td></tr>";
        }
        return rows;
    }

    function block(r, rows) {
        return '<div class="om-pixel" data-layer="' + esc(r.id) + '" data-dataset="' +
            esc(r.dataset || "") + '"><div class="om-popup-layer">' + esc(r.title) +
            (r.when ? " · " + esc(r.when) : "") + "</div>" +
            '<table class="om-popup-table">' + rows + "</table></div>";
    }

    function popupHtml(lon, lat, blocks) {
        return '<div class="om-popup om-raster-popup"><div class="om-popup-title">' +
            lat.toFixed(5) + ", " + lon.toFixed(5) + "</div>" + blocks.join("") + "</div>";
    }

    function fetchValues(r, lon, lat) {
        return fetch(pointUrl(r.point, lon, lat), {headers: {Accept: "application/json"}})
            .then(function (resp) {
                if (!resp.ok) { throw new Error(String(resp.status)); }
                return resp.json();
            })
            .then(function (body) { return block(r, rowsHtml(r, body)); },
                  function () {
                      return block(r, "<tr><td>" + esc(S().pixel_error || "error") + "</td></tr>");
                  });
    }

    var popupsOpened = 0;
    var watched = null;

    /* Map "preclick" handler (eventHandlers.preclick). Leaflet sends "click" to the map only
     * when no layer listens for it, and the county polygons under everything do, so the map's
     * own "click" misses most of the region; "preclick" always reaches the map, just before the
     * click. The values are asked for after the click has been handled, and only if that click
     * did not open a feature's own popup (a station, a section, an incident...). */
    function rasterClick(e) {
        var map = e.target;
        if (watched !== map) {
            watched = map;
            map.on("popupopen", function () { popupsOpened += 1; });
        }
        var before = popupsOpened;
        var latlng = e.latlng;
        setTimeout(function () {
            if (popupsOpened === before) { showValues(map, latlng); }
        }, 0);
    }

    function showValues(map, latlng) {
        var lat = latlng.lat, lon = latlng.wrap().lng;
        var hits = (visible.rasters || []).filter(function (r) {
            return r.point && inside(r.bounds, lon, lat);
        });
        if (!hits.length) { return; }
        var popup = L.popup({maxWidth: 340, className: "om-popup-wrap"})
            .setLatLng(latlng)
            .setContent(popupHtml(lon, lat, ['<div class="om-pixel-loading">' +
                                             esc(S().pixel_loading || "…") + "</div>"]))
            .openOn(map);
        Promise.all(hits.map(function (r) { return fetchValues(r, lon, lat); }))
            .then(function (blocks) {
                if (popup.isOpen()) { popup.setContent(popupHtml(lon, lat, blocks)); }
            });
    }

    /* Clientside callback: remember what a click should ask about. */
    function setVisible(data, allStrings) {
        visible = data || {lang: "zh", rasters: []};
        strings = allStrings || {};
        return (window.dash_clientside || {}).no_update;
    }

    /* Clientside callback (MATCH): play/pause toggles the series' interval timer. */
    function togglePlay(n, disabled, lang, allStrings) {
        var pause = disabled === false;  /* it was playing: pause it */
        var T = (allStrings && (allStrings[lang] || allStrings.zh)) || {};
        return [pause, pause ? "▶" : "❚❚", pause ? (T.play || "") : (T.pause || "")];
    }

    /* Clientside callback (MATCH): the next step of a playing series, wrapping around. */
    function nextStep(n, value, max) {
        var last = Number(max) || 0;
        var v = Number(value) || 0;
        return v >= last ? 0 : v + 1;
    }

    var dc = window.dash_clientside = window.dash_clientside || {};
    dc.onemap_rasters = {setVisible: setVisible, togglePlay: togglePlay, nextStep: nextStep};
    window.onemap = Object.assign(window.onemap || {}, {rasterClick: rasterClick,
                                                        pointUrl: pointUrl});
}());
