/*
 * OneMap map functions for dash-leaflet GeoJSON layers (referenced as {variable: "onemap.x"}).
 *
 * Python sends the symbology as data in each layer's `hideout` (see onemap/app/layers.py):
 *   hideout.style  - onemap.styles.leaflet_style(family): Leaflet path options plus
 *                    `by` (attribute), `colors` (value -> colour) or `breaks` ([[high, colour]]),
 *                    `nodata` (colour when the attribute is missing);
 *   hideout.popup  - fields [[name, label, unit]], coded-value labels, the title field.
 * dash-leaflet calls each function with the layer's props appended as the last argument
 * (`context`), so one set of functions serves every layer.
 */
(function () {
    "use strict";

    var PATH_KEYS = ["stroke", "color", "weight", "opacity", "fill", "fillColor", "fillOpacity",
                     "dashArray", "lineCap", "lineJoin"];

    function esc(value) {
        return String(value).replace(/[&<>"']/g, function (c) {
            return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
        });
    }

    /* Black or white, whichever reads better on a filled colour (WCAG relative luminance; the
     * two contrasts are equal at 0.179): the fill is the standard's, the text colour is ours.
     * Same rule as onemap.styles.contrast.ink. */
    function ink(hex) {
        var m = /^#?([0-9a-f]{6})$/i.exec(String(hex || ""));
        if (!m) { return "#000000"; }
        var n = parseInt(m[1], 16), c = [n >> 16, (n >> 8) & 255, n & 255].map(function (x) {
            x /= 255;
            return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
        });
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2] > 0.179 ? "#000000" : "#FFFFFF";
    }

    function missing(v) {
        return v === null || v === undefined || v === "" || (typeof v === "number" && isNaN(v));
    }

    /* The colour of a feature by the style's `by` attribute (class colours or numeric breaks). */
    function classColor(s, props) {
        if (!s.by) { return s.fillColor || s.color || "#3388ff"; }
        var v = props ? props[s.by] : undefined;
        var nodata = s.nodata || "#9E9E9E";
        if (missing(v)) { return nodata; }
        if (s.breaks) {
            var x = Number(v);
            if (!isFinite(x) || x < 0) { return nodata; }
            for (var i = 0; i < s.breaks.length; i++) {
                if (x <= s.breaks[i][0]) { return s.breaks[i][1]; }
            }
            return s.breaks[s.breaks.length - 1][1];
        }
        return (s.colors && s.colors[v]) || nodata;
    }

    function pathOptions(feature, context) {
        var s = (context.hideout && context.hideout.style) || {};
        var out = {};
        PATH_KEYS.forEach(function (k) { if (s[k] !== undefined) { out[k] = s[k]; } });
        if (s.by) {
            var c = classColor(s, feature.properties);
            out.fillColor = c;
            if (!s.color) { out.color = c; }
        }
        return out;
    }

    function style(feature, context) {
        var props = feature.properties || {};
        // Spider legs of an expanded cluster are LineStrings without attributes.
        if (feature.geometry && feature.geometry.type === "LineString" &&
                context.cluster && Object.keys(props).length <= 1) {
            return {color: "#555", weight: 1, opacity: 0.7};
        }
        return pathOptions(feature, context);
    }

    function incidentIcon(color) {
        var svg = '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="22" viewBox="0 0 24 22">' +
            '<path d="M12 1 L23 21 H1 Z" fill="' + esc(color) + '" stroke="#000" stroke-width="1.5"/>' +
            '<text x="12" y="18" text-anchor="middle" font-size="12" font-weight="bold" ' +
            'font-family="sans-serif" fill="#000">!</text></svg>';
        return L.divIcon({html: svg, className: "om-incident", iconSize: [24, 22],
                          iconAnchor: [12, 14], popupAnchor: [0, -10]});
    }

    function pointToLayer(feature, latlng, context) {
        var props = feature.properties || (feature.properties = {});
        // dash-leaflet's cluster diffing keys individual markers by properties.id.
        if (props.id === undefined && feature.id !== undefined) { props.id = feature.id; }
        var h = context.hideout || {};
        var o = pathOptions(feature, context);
        o.pane = context.pane;
        if (h.family === "incidents") {
            // Leaflet makes the marker a keyboard button: its title is the button's name
            return L.marker(latlng, {icon: incidentIcon(o.fillColor), pane: context.pane,
                                     riseOnHover: true,
                                     title: String(props.title || props.name || props.id || "")});
        }
        o.radius = (h.style && h.style.radius) || 6;
        return L.circleMarker(latlng, o);
    }

    function clusterToLayer(feature, latlng, index, context) {
        var n = feature.properties.point_count;
        var size = n < 10 ? 28 : n < 100 ? 34 : n < 1000 ? 42 : 50;
        var color = (context.hideout && context.hideout.cluster_color) || "#455A64";
        var html = '<div style="background:' + esc(color) + '"><span>' +
            esc(feature.properties.point_count_abbreviated) + "</span></div>";
        return L.marker(latlng, {
            pane: context.pane,
            icon: L.divIcon({html: html, className: "om-cluster", iconSize: L.point(size, size)})
        });
    }

    function formatValue(field, value, unit, h) {
        var coded = h.popup && h.popup.values && h.popup.values[field];
        if (coded && coded[value] !== undefined) { return esc(coded[value]); }
        if (typeof value === "number") {
            var text = Number.isInteger(value) ? String(value)
                : value.toLocaleString(h.lang === "en" ? "en" : "zh-CN", {maximumFractionDigits: 3});
            return esc(text) + (unit ? " " + esc(unit) : "");
        }
        if (field === "time" || /T\d\d:\d\d/.test(String(value))) { return esc(formatTime(value)); }
        return esc(value) + (unit ? " " + esc(unit) : "");
    }

    /* "YYYY-MM-DD HH:MM" in Beijing time (UTC+8), the time every other part of the map shows:
       the API sends UTC ("…Z") or an offset; a time without either is taken as already local. */
    function formatTime(value) {
        var text = String(value);
        var m = text.match(/^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)/);
        if (!m) { return text; }
        if (!/(Z|[+-]\d\d:?\d\d)$/.test(text)) { return m[1] + " " + m[2]; }
        var t = Date.parse(text);
        if (isNaN(t)) { return m[1] + " " + m[2]; }
        var d = new Date(t + 8 * 3600 * 1000);
        var pad = function (n) { return (n < 10 ? "0" : "") + n; };
        return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) +
            " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    }

    function aqiBlock(props, h) {
        var s = h.strings || {};
        var colon = h.lang === "en" ? ": " : "：";
        var aqi = props.aqi;
        var level = null;
        if (!missing(aqi) && Number(aqi) >= 0) {
            for (var i = 0; i < (h.aqi_levels || []).length; i++) {
                if (Number(aqi) <= h.aqi_levels[i][0]) { level = h.aqi_levels[i]; break; }
            }
        }
        var color = level ? level[1] : (h.nodata || "#9E9E9E");
        var label = level ? level[2] : (s.no_data || "");
        var pol = props.primary_pollutant;
        var polText = missing(pol) ? "—" : (h.pollutants && h.pollutants[String(pol).toLowerCase()]) || pol;
        return '<div class="om-aqi">' +
            '<span class="om-aqi-badge" style="background:' + esc(color) + ";color:" + ink(color) +
            '">' +
            (missing(aqi) ? "—" : esc(Math.round(Number(aqi)))) + "</span>" +
            '<div class="om-aqi-text"><div>' + esc(s.aqi || "AQI") + "</div>" +
            '<div><b>' + esc(s.aqi_level || "") + colon + "</b>" + esc(label) + "</div>" +
            "<div><b>" + esc(s.primary_pollutant || "") + colon + "</b>" + esc(polText) + "</div>" +
            "<div><b>" + esc(s.time || "") + colon + "</b>" +
            (missing(props.time) ? "—" : esc(formatTime(props.time))) + "</div></div></div>";
    }

    function popupHtml(feature, h) {
        var props = feature.properties || {};
        var spec = h.popup || {fields: [], values: {}, title_field: "name"};
        var title = props[spec.title_field] || props.name || feature.id || "";
        var key = spec.key_field ? props[spec.key_field] : "";
        var out = '<div class="om-popup" data-family="' + esc(h.family || "") + '" data-key="' +
            esc(missing(key) ? "" : key) + '">' +
            '<div class="om-popup-title">' + esc(title) + "</div>" +
            '<div class="om-popup-layer">' + esc(h.layer_title || "") + "</div>";
        // Families with a block of their own (assets/popups.js): permit, history, badges…
        var own = !!window.onemap.popupBlock;
        out += own ? window.onemap.popupBlock(props, h) : "";
        var skip = own ? (spec.block || []) : [];
        if (h.family === "air_stations") {
            out += aqiBlock(props, h);
            if (h.series) {
                out += '<div class="om-chart" data-station="' + esc(props.station_id || "") +
                    '"></div>';
            }
        }
        var rows = "";
        (spec.fields || []).forEach(function (f) {
            var v = props[f[0]];
            if (missing(v) || skip.indexOf(f[0]) >= 0) { return; }
            rows += "<tr><th>" + esc(f[1]) + "</th><td>" + formatValue(f[0], v, f[2], h) + "</td></tr>";
        });
        out += rows ? '<table class="om-popup-table">' + rows + "</table>" : "";
        var tail = own ? window.onemap.popupTail(props, h) : "";
        return out + tail + "</div>";
    }

    function onEachFeature(feature, layer, context) {
        var props = feature.properties || {};
        if (props.cluster) { return; }
        var h = context.hideout || {};
        var skip = false;
        Object.keys(h.label_skip || {}).forEach(function (k) {
            if (h.label_skip[k].indexOf(props[k]) >= 0) { skip = true; }
        });
        if (h.label_field && props[h.label_field] && !skip) {
            layer.bindTooltip(esc(props[h.label_field]), {permanent: true, direction: "center",
                                                           className: "om-label", opacity: 1});
        }
        if (h.interactive === false) { return; }
        if (feature.geometry && feature.geometry.type === "LineString" && context.cluster) { return; }
        layer.bindPopup(function () { return popupHtml(feature, h); }, popupOptions(h));
        layer.on("popupopen", function (e) { popupOpened(e, props, h); });
    }

    function popupOptions(h) {
        return {maxWidth: h.history ? 380 : 340, className: "om-popup-wrap"};
    }

    /* What a popup fetches once open: a water section's recent classes, an outlet's recent
       readings (assets/live.js), an air station's chart. */
    function popupOpened(e, props, h) {
        var el = e.popup.getElement();
        if (h.history && el && window.onemap.drawWaterHistory) {
            var wh = el.querySelector(".om-wh");
            if (wh) { window.onemap.drawWaterHistory(wh, props, h); }
        }
        if (h.live && window.onemap.livePopupOpened) { window.onemap.livePopupOpened(e, props, h); }
        if (h.photos && window.onemap.photosOpened) { window.onemap.photosOpened(el, props, h); }
        if (h.family === "air_stations" && h.series) {
            var s = h.strings || {};
            window.onemap.drawSeries(el && el.querySelector(".om-chart"), props.station_id,
                                     props.time, h.series, {
                    title: s.chart_title, loading: s.chart_loading, empty: s.chart_empty,
                    error: s.chart_error});
        }
    }

    /* A feature's popup opened on the map at `latlng`, not bound to a layer (a feature of a
       vector tile, read whole from the OGC API when clicked: assets/tiles.js). */
    function openPopup(map, latlng, feature, h) {
        var popup = L.popup(popupOptions(h)).setLatLng(latlng)
            .setContent(popupHtml(feature, h)).openOn(map);
        popupOpened({popup: popup, target: map}, feature.properties || {}, h);
        return popup;
    }

    window.onemap = Object.assign(window.onemap || {}, {
        style: style,
        pointToLayer: pointToLayer,
        clusterToLayer: clusterToLayer,
        onEachFeature: onEachFeature,
        popupHtml: popupHtml,
        openPopup: openPopup,
        pathOptions: pathOptions,
        classColor: classColor,
        util: {esc: esc, ink: ink, missing: missing, formatTime: formatTime, formatValue: formatValue}
    });
}());
