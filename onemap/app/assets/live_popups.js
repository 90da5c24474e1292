/*
 * Online monitoring in popups (see assets/live.js for the ticker, the layers and the actions):
 *   - an alarm's block (rule and status badges, the value against its permit limit) and, for
 *     a commander while it is not closed, a note and the Acknowledge / Close buttons;
 *   - an outlet's or a source's popup: its outlets' last hourly averages against their permit
 *     limits (each outlet's series from OGC API EDR, outlets/locations/{outlet_code} as
 *     CoverageJSON; a source's outlets from OGC API Features), a bar per hour,
 *     the excess in red; fetched when the popup opens, and only on a server with live
 *     monitoring that this user may read.
 */
(function () {
    "use strict";

    function u() { return window.onemap.util; }
    function live() { return window.onemap.live; }
    function esc(v) { return u().esc(v); }
    function number(v) { return live().util.number(v); }
    function hs(h, key, args) { return live().util.hs(h, key, args); }
    function getJson(url) { return live().util.getJson(url); }

    // ---- an alarm's popup -----------------------------------------------------------------
    function chip(color, text, cls, attrs) {
        return window.onemap.popupParts.chip(color, text, cls, attrs);
    }

    function alarmBlock(props, h) {
        var ex = (h.popup && h.popup.extra) || {}, values = (h.popup && h.popup.values) || {};
        live().drawnWith(props.alarm_id, h);
        var name = ((ex.pollutants || {})[props.pollutant] || [])[0] || props.pollutant_name ||
            props.pollutant || "";
        var unit = props.unit ? " " + props.unit : "";
        var over = props.threshold > 0 && props.value > props.threshold;
        var low = props.threshold_low !== null && props.threshold_low !== undefined &&
            props.value < props.threshold_low;
        var line = "";
        if (props.value !== null && props.value !== undefined) {
            var limit = props.threshold !== null && props.threshold !== undefined
                ? (props.threshold_low !== null && props.threshold_low !== undefined
                    ? number(props.threshold_low) + "–" : "") + number(props.threshold) + unit : "";
            line = '<div class="om-alarm-value"><b>' + esc(name) + "</b> " +
                '<span class="om-alarm-measured' + (over || low ? " om-over" : "") +
                '" data-value="' + esc(props.value) + '">' + esc(number(props.value) + unit) +
                "</span>" + (limit ? ' <span class="om-alarm-limit">/ ' +
                    esc(hs(h, "live_limit")) + " " + esc(limit) + "</span>" : "") +
                (over ? ' <span class="om-verdict om-bad">' +
                    esc(hs(h, "live_times", {n: (props.value / props.threshold).toFixed(1)})) +
                    "</span>" : "") + "</div>";
        } else if (name) {
            line = '<div class="om-alarm-value"><b>' + esc(name) + "</b></div>";
        }
        return '<div class="om-pp-head om-badges om-alarm-head">' +
            chip((ex.rule_colors || {})[props.rule] || "#757575",
                 (values.rule || {})[props.rule] || props.rule, "om-badge om-badge-rule",
                 'data-rule="' + esc(props.rule) + '"') +
            chip((ex.status_colors || {})[props.status] || "#757575",
                 (values.status || {})[props.status] || props.status, "om-badge om-badge-status",
                 'data-status="' + esc(props.status) + '"') +
            (props.end ? "" : ' <span class="om-alarm-ongoing">' + esc(hs(h, "al_ongoing")) +
                "</span>") + "</div>" + line;
    }

    function handler() {
        var el = document.getElementById("om-live");
        return !!(el && el.getAttribute("data-handler"));
    }

    function alarmTail(props, h) {
        if (!handler() || props.status === "closed") { return ""; }
        var id = esc(props.alarm_id);
        return '<div class="om-alarm-actions" data-alarm="' + id + '">' +
            '<input type="text" class="om-alarm-note" maxlength="2000" placeholder="' +
            esc(hs(h, "al_note")) + '">' +
            '<div class="om-alarm-buttons">' +
            (props.status === "new" ? '<button type="button" class="om-button" data-act="acknowledge">' +
                esc(hs(h, "al_ack")) + "</button>" : "") +
            '<button type="button" class="om-button om-button-secondary" data-act="close">' +
            esc(hs(h, "al_close")) + "</button></div>" +
            '<div class="om-alarm-msg" role="status"></div></div>';
    }

    // ---- an outlet's recent readings against its limits -----------------------------------
    function readingsTail(props, h) {
        if (!h.live || !live() || !live().enabled()) { return ""; }  // no live monitoring on this server (or not for you)
        if (h.family === "outlets" && !props.mn) { return ""; }  // no device, no readings
        return '<div class="om-live-readings om-wh-loading" data-source="' +
            esc(props.source_id || "") + '">' + esc(hs(h, "rd_loading")) + "</div>";
    }

    function limitOf(outlet, code, live) {
        if (code === live.ph[0]) {
            return [outlet[live.ph[1]], outlet[live.ph[2]]];
        }
        var column = ((live.pollutants || {})[code] || [])[1];
        return [null, column ? outlet[column] : null];
    }

    function spark(values, lo, hi) {
        var w = 96, hgt = 22, n = values.length, top = Math.max.apply(null, values.map(function (v) {
            return v.value; }).concat([hi || 0, 1e-9]));
        var bw = w / Math.max(n, 1);
        var bars = values.map(function (v, i) {
            var y = Math.max(1, Math.round(hgt * v.value / top));
            var bad = (hi !== null && hi !== undefined && v.value > hi) ||
                (lo !== null && lo !== undefined && v.value < lo);
            return '<rect x="' + (i * bw).toFixed(1) + '" y="' + (hgt - y) + '" width="' +
                Math.max(bw - 0.5, 0.5).toFixed(1) + '" height="' + y + '" fill="' +
                (bad ? "#D50000" : "#78909C") + '"/>';
        }).join("");
        var line = hi ? '<line x1="0" x2="' + w + '" y1="' + (hgt - hgt * hi / top).toFixed(1) +
            '" y2="' + (hgt - hgt * hi / top).toFixed(1) + '" stroke="#D50000" stroke-dasharray="2 2"/>' : "";
        return '<svg class="om-rd-spark" width="' + w + '" height="' + hgt + '">' + bars + line + "</svg>";
    }

    function readingsTable(outlets, rows, h) {
        var live = h.live, out = "";
        outlets.forEach(function (o) {
            var mine = rows.filter(function (r) { return r.outlet_code === o.outlet_code; });
            var by = {};
            mine.forEach(function (r) { (by[r.pollutant] = by[r.pollutant] || []).push(r); });
            var codes = Object.keys(by).filter(function (c) { return live.pollutants[c]; }).sort();
            if (!codes.length) { return; }
            out += '<tr class="om-rd-outlet"><th colspan="4"><code>' + esc(o.outlet_code) +
                "</code></th></tr>";
            codes.forEach(function (code) {
                var series = by[code].sort(function (a, b) { return a.time < b.time ? -1 : 1; });
                var last = series[series.length - 1], lim = limitOf(o, code, live);
                var bad = (lim[1] !== null && lim[1] !== undefined && last.value > lim[1]) ||
                    (lim[0] !== null && lim[0] !== undefined && last.value < lim[0]);
                var limit = lim[1] === null || lim[1] === undefined ? "—"
                    : (lim[0] !== null && lim[0] !== undefined ? number(lim[0]) + "–" : "") + number(lim[1]);
                out += '<tr class="om-rd-row" data-outlet="' + esc(o.outlet_code) +
                    '" data-pollutant="' + esc(code) + '" data-over="' + (bad ? "1" : "") + '">' +
                    "<td>" + esc(live.pollutants[code][0]) + "</td><td>" +
                    spark(series, lim[0], lim[1]) + '</td><td class="om-rd-value' +
                    (bad ? " om-over" : "") + '" title="' + esc(u().formatTime(last.time)) + '">' +
                    esc(number(last.value)) + '</td><td class="om-rd-limit">' + esc(limit) +
                    "</td></tr>";
            });
        });
        if (!out) { return '<div class="om-note">' + esc(hs(h, "rd_empty")) + "</div>"; }
        return '<div class="om-pp-section">' + esc(hs(h, "rd_title")) + "</div>" +
            '<table class="om-popup-table om-rd"><thead><tr><th>' + esc(hs(h, "rd_param")) +
            "</th><th></th><th>" + esc(hs(h, "rd_value")) + "</th><th>" + esc(hs(h, "rd_limit")) +
            "</th></tr></thead><tbody>" + out + "</tbody></table>";
    }

    /* A CoverageJSON PointSeries (one outlet's hourly averages, one range per pollutant
     * code) as the rows the table draws: {outlet_code, pollutant, time, value}. */
    function coverageRows(cov, code) {
        var times = (((cov.domain || {}).axes || {}).t || {}).values || [], rows = [];
        Object.keys(cov.ranges || {}).forEach(function (pollutant) {
            (cov.ranges[pollutant].values || []).forEach(function (v, i) {
                if (typeof v === "number") {
                    rows.push({outlet_code: code, pollutant: pollutant, time: times[i], value: v});
                }
            });
        });
        return rows;
    }

    function drawReadings(el, props, h) {
        var live = h.live;
        var since = new Date(Date.now() - live.hours * 3600 * 1000).toISOString().slice(0, 19) + "Z";
        var outlets = h.family === "outlets" ? Promise.resolve([props])
            : getJson(live.outlets + "?f=json&limit=100&source_id=" +
                      encodeURIComponent(props.source_id || "")).then(function (doc) {
                return (doc.features || []).map(function (f) { return f.properties; });
            });
        outlets.then(function (list) {
            list = list.filter(function (o) { return o.mn; });
            if (!list.length) { el.remove(); return null; }
            return Promise.all(list.map(function (o) {
                return getJson(live.series + "/" + encodeURIComponent(o.outlet_code) +
                               "?f=json&datetime=" + encodeURIComponent(since + "/.."))
                    .then(function (cov) { return coverageRows(cov, o.outlet_code); });
            })).then(function (parts) {
                el.classList.remove("om-wh-loading");
                el.innerHTML = readingsTable(list, [].concat.apply([], parts), h);
            });
        }).catch(function (e) {
            if (e && (e.status === 401 || e.status === 403 || e.status === 404)) {
                el.remove();  // this user may not read the readings: nothing to say
            } else {
                el.classList.remove("om-wh-loading");
                el.textContent = hs(h, "rd_error");
            }
        });
    }

    /* Called by onemap.js when a popup of a live-aware layer opens. */
    function popupOpened(e, props, h) {
        var el = e.popup.getElement() && e.popup.getElement().querySelector(".om-live-readings");
        if (el && !el.getAttribute("data-drawn")) {
            el.setAttribute("data-drawn", "1");
            drawReadings(el, props, h);
        }
    }

    window.onemap = Object.assign(window.onemap || {}, {
        alarmBlock: alarmBlock,
        alarmTail: alarmTail,
        readingsTail: readingsTail,
        livePopupOpened: popupOpened
    });
}());
