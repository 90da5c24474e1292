/* Map tools that live in Leaflet itself (see onemap/app/tools.py): the coordinates under the
 * cursor, and measuring distance and area. The map is reached through Leaflet's init hook
 * (dash-leaflet does not expose it); everything that follows the mouse is plain DOM, so it costs
 * no Dash round trip. Texts come from the Store om-tool-strings (both languages) and follow the
 * language switch (setLang, a clientside callback on om-lang).
 *
 * Measuring is geodesic on the WGS84 ellipsoid (geodesy.js), not on the map's Web Mercator plane.
 * tools_export.js reuses window.onemap.tools (map, strings, message box). */
(function () {
    "use strict";

    var strings = {zh: {}, en: {}}, buttonKeys = [], lang = "zh", theMap = null;
    var msg = null;  // {key, args, kind}: re-worded on a language switch

    function tr(key, args) {
        var text = (strings[lang] || {})[key] || (strings.zh || {})[key] || "";
        Object.keys(args || {}).forEach(function (k) { text = text.split("{" + k + "}").join(args[k]); });
        return text;
    }

    function fmt(x, digits) {
        return x.toLocaleString(lang === "en" ? "en-US" : "zh-CN",
                                {minimumFractionDigits: digits, maximumFractionDigits: digits});
    }

    var geodesy = window.onemap_geodesy, pathLength = geodesy.pathLength, area = geodesy.area;

    function fmtLength(m) {
        if (m < 1000) { return fmt(m, m < 100 ? 1 : 0) + " m"; }
        return fmt(m / 1000, m < 100000 ? 2 : 1) + " km";
    }

    function fmtArea(m2) {
        if (m2 < 1e5) { return fmt(m2, 0) + " m²"; }
        var km2 = m2 / 1e6;
        return fmt(km2, km2 < 10 ? 3 : km2 < 1000 ? 2 : 0) + " km²";
    }

    function fmtHectares(m2) {
        var ha = m2 / 1e4;
        return fmt(ha, ha < 100 ? 2 : 0) + " ha";
    }

    /* ---- coordinates under the cursor ---- */
    function formatCoordinates(latlng) {
        var lon = latlng.lng, lat = latlng.lat;
        return tr("tool_coords", {
            x: Math.abs(lon).toFixed(5), y: Math.abs(lat).toFixed(5),
            ew: tr(lon >= 0 ? "tool_east" : "tool_west"),
            ns: tr(lat >= 0 ? "tool_north" : "tool_south")
        });
    }

    function addCoordinates(map) {
        var Coords = L.Control.extend({
            options: {position: "bottomleft"},
            onAdd: function () {
                var div = L.DomUtil.create("div", "om-coords");
                div.id = "om-coords";
                div.style.display = "none";
                return div;
            }
        });
        var el = new Coords().addTo(map).getContainer();
        var last = null;
        map.on("mousemove", function (e) {
            last = e.latlng;
            el.textContent = formatCoordinates(last);
            el.style.display = "block";
        });
        // The container's own mouseleave: Leaflet's map "mouseout" does not fire when the mouse
        // leaves straight from a feature (the feature gets the event instead).
        L.DomEvent.on(map.getContainer(), "mouseleave", function () { el.style.display = "none"; });
        return function () { if (last) { el.textContent = formatCoordinates(last); } };
    }

    /* ---- the floating box (measure read-out, export messages) ---- */
    var box = {};

    function el(tag, cls, parent, id) {
        var e = L.DomUtil.create(tag, cls, parent);
        if (id) { e.id = id; }
        return e;
    }

    function buildBox(map) {
        var root = el("div", "om-tool-panel", map.getContainer(), "om-tool-panel");
        L.DomEvent.disableClickPropagation(root);
        L.DomEvent.disableScrollPropagation(root);
        box.measure = el("div", "om-measure", root, "om-measure");
        var main = el("div", "om-measure-main", box.measure);
        box.label = el("span", "om-measure-label", main, "om-measure-label");
        box.value = el("b", "om-measure-value", main, "om-measure-value");
        box.detail = el("div", "om-measure-detail", box.measure, "om-measure-detail");
        box.hint = el("div", "om-measure-hint", box.measure, "om-measure-hint");
        var actions = el("div", "om-measure-actions", box.measure);
        box.finish = el("button", "om-measure-btn", actions, "om-measure-finish");
        box.clear = el("button", "om-measure-btn", actions, "om-measure-clear");
        box.finish.type = box.clear.type = "button";
        L.DomEvent.on(box.finish, "click", function () { finish(); });
        L.DomEvent.on(box.clear, "click", function () { stop(); });
        box.msg = el("div", "om-tool-msg", root, "om-tool-msg");
        box.measure.style.display = box.msg.style.display = "none";
    }

    var msgTimer = null;
    /* Show (or, key null, hide) a message; successes fade after a while, errors stay 15 s. */
    function message(key, args, kind) {
        msg = key ? {key: key, args: args || {}, kind: kind || "ok"} : null;
        if (!box.msg) { return; }
        clearTimeout(msgTimer);
        if (!msg) { box.msg.style.display = "none"; return; }
        box.msg.textContent = tr(msg.key, msg.args);
        box.msg.className = "om-tool-msg om-tool-msg-" + msg.kind;
        box.msg.style.display = "block";
        if (msg.kind !== "busy") {
            msgTimer = setTimeout(function () { message(null); }, msg.kind === "error" ? 15000 : 6000);
        }
    }

    /* ---- measuring ---- */
    var M = {mode: null, points: [], done: false, cursor: null, group: null, tip: null, down: null};
    var STYLE = {color: "#E65100", weight: 3, opacity: 0.95, interactive: false, pane: "om-measure"};

    function current() {
        var pts = M.points.slice();
        if (!M.done && M.cursor) { pts.push(M.cursor); }
        return pts;
    }

    function draw() {
        var map = theMap;
        if (!map || !M.group) { return; }
        M.group.clearLayers();
        var pts = current();
        var shape = M.mode === "area" && pts.length > 2
            ? L.polygon(pts, L.extend({fillColor: "#FF9800", fillOpacity: 0.18}, STYLE))
            : L.polyline(pts, STYLE);
        M.group.addLayer(shape);
        if (!M.done && M.cursor && M.points.length) {  // the rubber band to the mouse
            shape.setStyle({dashArray: "6 6"});
            if (M.points.length > 1 || M.mode === "area") {
                M.group.addLayer(L.polyline(M.points, STYLE));
            }
        }
        M.points.forEach(function (p) {
            M.group.addLayer(L.circleMarker(p, {radius: 4, color: "#E65100", weight: 2,
                fillColor: "#fff", fillOpacity: 1, interactive: false, pane: "om-measure"}));
        });
        // One label, moved and re-worded (a removed Leaflet tooltip fades out for 200 ms, so
        // re-creating it on every mouse move would stack them up).
        var text = readout(pts);
        if (pts.length > 1 && text.value) {
            M.tip.setLatLng(pts[pts.length - 1]).setContent(text.value);
            if (!map.hasLayer(M.tip)) { M.tip.addTo(map); }
        } else if (map.hasLayer(M.tip)) {
            map.removeLayer(M.tip);
        }
    }

    /* The numbers and words of the read-out for the points ``pts``. */
    function readout(pts) {
        if (M.mode === "area") {
            if (pts.length < 3) {
                return {label: tr("tool_area_label"), value: "",
                        detail: tr("tool_hint_area_more", {n: 3 - pts.length})};
            }
            var a = area(pts);
            return {label: tr("tool_area_label"), value: fmtArea(a),
                    detail: fmtHectares(a) + " · " + tr("tool_perimeter") + " " +
                        fmtLength(pathLength(pts, true))};
        }
        return {label: tr("tool_distance_label"),
                value: pts.length > 1 ? fmtLength(pathLength(pts, false)) : "",
                detail: tr("tool_points", {n: M.points.length})};
    }

    function render() {
        ["om-tool-distance", "om-tool-area"].forEach(function (id) {
            var b = document.getElementById(id);
            var mine = id === "om-tool-area" ? "area" : "line";
            if (b) { b.classList.toggle("om-tool-active", M.mode === mine && !M.done); }
        });
        if (!box.measure) { return; }
        box.measure.style.display = M.mode ? "block" : "none";
        if (!M.mode) { return; }
        var r = readout(current());
        box.label.textContent = r.label;
        box.value.textContent = r.value || "—";
        box.detail.textContent = r.detail;
        box.hint.textContent = M.done ? "" : tr(M.mode === "area" ? "tool_hint_area" : "tool_hint_line");
        box.hint.style.display = M.done ? "none" : "block";
        box.finish.textContent = tr("tool_finish");
        box.clear.textContent = tr("tool_clear");
        box.finish.style.display = M.done ? "none" : "inline-block";
        draw();
    }

    function start(mode) {
        stop();
        M.mode = mode;
        if (theMap) {
            theMap.getContainer().classList.add("om-measuring");
            theMap.doubleClickZoom.disable();
        }
        render();
    }

    function finish() {
        if (!M.mode) { return; }
        M.done = true;
        M.cursor = null;
        if (theMap) {
            theMap.getContainer().classList.remove("om-measuring");
            theMap.doubleClickZoom.enable();
        }
        render();
    }

    function stop() {
        if (M.group) { M.group.clearLayers(); }
        if (theMap && M.tip && theMap.hasLayer(M.tip)) { theMap.removeLayer(M.tip); }
        if (theMap && M.mode) {
            theMap.getContainer().classList.remove("om-measuring");
            theMap.doubleClickZoom.enable();
        }
        M.mode = null; M.points = []; M.done = false; M.cursor = null;
        render();
    }

    function onControl(target) {
        return target && target.closest && target.closest(".leaflet-control, .om-tools, .om-tool-panel");
    }

    /* While measuring, clicks on the map add points and reach nothing else (no popups, no
       emergency point, no raster values): they are taken in the capture phase, before Leaflet's
       own listeners on the container. A click that ends a drag (a pan) adds nothing. */
    function captureClicks(map) {
        var c = map.getContainer();
        c.addEventListener("mousedown", function (e) { M.down = [e.clientX, e.clientY]; }, true);
        c.addEventListener("click", function (e) {
            if (!M.mode || M.done || onControl(e.target)) { return; }
            e.stopPropagation();
            e.preventDefault();
            if (M.down && Math.abs(e.clientX - M.down[0]) + Math.abs(e.clientY - M.down[1]) > 4) { return; }
            var ll = map.mouseEventToLatLng(e);
            var last = M.points[M.points.length - 1];
            if (last && map.latLngToContainerPoint(last).distanceTo(map.latLngToContainerPoint(ll)) < 3) { return; }
            M.points.push(ll);
            render();
        }, true);
        c.addEventListener("dblclick", function (e) {
            if (!M.mode || M.done || onControl(e.target)) { return; }
            e.stopPropagation();
            e.preventDefault();
            finish();
        }, true);
        map.on("mousemove", function (e) {
            if (M.mode && !M.done) { M.cursor = e.latlng; render(); }
        });
        L.DomEvent.on(c, "mouseleave", function () {
            if (M.mode && !M.done) { M.cursor = null; render(); }
        });
        document.addEventListener("keydown", function (e) {
            if (!M.mode) { return; }
            var t = e.target || {};  // keys typed into a text field are not for us
            if (t.tagName === "TEXTAREA" || t.isContentEditable ||
                    (t.tagName === "INPUT" && !/^(radio|checkbox|button|range)$/.test(t.type))) { return; }
            if (e.key === "Escape") { stop(); } else if (e.key === "Enter" && !M.done) { finish(); }
        });
    }

    var refreshCoords = function () {};

    function setup(map) {
        theMap = map;
        map.createPane("om-measure").style.zIndex = 640;
        M.group = L.layerGroup().addTo(map);
        M.tip = L.tooltip({permanent: true, direction: "right", offset: [8, 0],
                           className: "om-measure-tip", pane: "om-measure"});
        refreshCoords = addCoordinates(map);
        buildBox(map);
        captureClicks(map);
        // The tool bar is a Dash child of the map: keep its clicks away from Leaflet (its
        // buttons still get them). It is rendered a moment after the map; wait for it.
        var tries = 0;
        (function guard() {
            var bar = document.getElementById("om-tools");
            if (bar) {
                L.DomEvent.disableClickPropagation(bar);
                L.DomEvent.disableScrollPropagation(bar);
            } else if (tries++ < 200) {
                setTimeout(guard, 100);
            }
        }());
        render();
    }

    if (window.L && L.Map && L.Map.addInitHook) {
        L.Map.addInitHook(function () {
            var map = this;
            map.whenReady(function () {
                if (map.getContainer().id === "om-map") { setup(map); }
            });
        });
    }

    window.onemap = Object.assign(window.onemap || {}, {
        formatCoordinates: formatCoordinates,
        geodesic: geodesy,
        tools: {map: function () { return theMap; }, tr: tr, message: message,
                lang: function () { return lang; }}
    });

    window.dash_clientside = Object.assign({}, window.dash_clientside);
    window.dash_clientside.onemap_tools = Object.assign({}, window.dash_clientside.onemap_tools, {
        /* Language switch: keep the strings, re-word what is shown, re-title the buttons. */
        setLang: function (value, data) {
            lang = value === "en" ? "en" : "zh";
            strings = (data && data.strings) || strings;
            buttonKeys = (data && data.buttons) || buttonKeys;
            render();
            refreshCoords();
            if (msg) { message(msg.key, msg.args, msg.kind); }
            return [lang].concat(buttonKeys.map(function (k) { return tr(k); }));
        },
        /* A measure button: start that measurement, or end it if it is the one running. */
        measure: function () {
            var ctx = window.dash_clientside.callback_context;
            var id = ctx.triggered_id || ((ctx.triggered[0] || {}).prop_id || "").split(".")[0];
            var mode = id === "om-tool-area" ? "area" : "line";
            if (M.mode === mode && !M.done) { stop(); } else { start(mode); }
            return {kind: "measure", mode: M.mode};
        }
    });
}());
