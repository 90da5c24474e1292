/* A station's last days of hourly PM2.5 as a small SVG chart in its popup, fetched when the
 * popup opens from the station's OGC API EDR series (the same request QGIS or OWSLib could
 * make): <series.url>/<station_id>?f=json&parameter-name=pm25&datetime=<start>/<end>, a
 * CoverageJSON PointSeries. Hours that are missing, or null because not valid (HJ 212 flag
 * other than N: the server nulls them), are gaps, not zeros.
 * Called by onemap.js; see onemap/app/layers.py (hideout.series) for the URL and strings. */
(function () {
    "use strict";
    var W = 300, H = 116, L0 = 30, R0 = 8, T0 = 16, B0 = 20;
    var HOUR = 3600 * 1000;

    function pad(n) { return (n < 10 ? "0" : "") + n; }
    function beijingDay(t) {
        var d = new Date(t + 8 * HOUR);
        return pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
    }
    function iso(t) { return new Date(t).toISOString().replace(".000Z", "Z"); }

    function svg(points, start, end, s) {
        var valid = points.filter(function (p) { return p.v !== null; });
        var top = Math.max(100, Math.ceil(Math.max.apply(null, valid.map(function (p) {
            return p.v; }).concat([0])) / 20) * 20);
        var x = function (t) { return L0 + (W - L0 - R0) * (t - start) / (end - start); };
        var y = function (v) { return H - B0 - (H - T0 - B0) * v / top; };
        var paths = [], run = [];
        points.forEach(function (p) {
            if (p.v === null) { if (run.length) { paths.push(run); } run = []; return; }
            run.push(x(p.t).toFixed(1) + "," + y(p.v).toFixed(1));
        });
        if (run.length) { paths.push(run); }
        var lines = paths.map(function (r) {
            return r.length === 1
                ? '<circle cx="' + r[0].split(",")[0] + '" cy="' + r[0].split(",")[1] +
                  '" r="1.5" fill="#1565C0"/>'
                : '<polyline fill="none" stroke="#1565C0" stroke-width="1.3" points="' +
                  r.join(" ") + '"/>';
        }).join("");
        var limit = y(75);
        return '<svg class="om-chart-svg" width="' + W + '" height="' + H + '" viewBox="0 0 ' +
            W + " " + H + '" xmlns="http://www.w3.org/2000/svg" font-size="10" ' +
            'font-family="sans-serif">' +
            '<text x="' + L0 + '" y="10" fill="#37474F">' + s.title + " (μg/m³)</text>" +
            '<line x1="' + L0 + '" x2="' + (W - R0) + '" y1="' + (H - B0) + '" y2="' + (H - B0) +
            '" stroke="#90A4AE"/>' +
            '<line x1="' + L0 + '" x2="' + (W - R0) + '" y1="' + limit + '" y2="' + limit +
            '" stroke="#E65100" stroke-dasharray="3 2"/>' +
            '<text x="' + (L0 - 3) + '" y="' + (limit + 3) + '" text-anchor="end" fill="#E65100">75' +
            "</text>" +
            '<text x="' + (L0 - 3) + '" y="' + (y(top) + 3) + '" text-anchor="end" fill="#607D8B">' +
            top + "</text>" +
            '<text x="' + (L0 - 3) + '" y="' + (H - B0 + 3) + '" text-anchor="end" fill="#607D8B">0' +
            "</text>" + lines +
            '<text x="' + L0 + '" y="' + (H - 6) + '" fill="#607D8B">' + beijingDay(start) +
            "</text>" +
            '<text x="' + (W - R0) + '" y="' + (H - 6) + '" text-anchor="end" fill="#607D8B">' +
            beijingDay(end) + "</text></svg>";
    }

    /* Fill `el` with the chart of station `id` for the `days` before `endText` (ISO). */
    function drawSeries(el, id, endText, series, s) {
        var end = Date.parse(endText);
        if (!el || !id || isNaN(end) || !series || !series.url) {
            if (el) { el.textContent = s.empty; }
            return;
        }
        var start = end - (series.days || 7) * 24 * HOUR + HOUR;
        var url = series.url + "/" + encodeURIComponent(id) + "?f=json&parameter-name=pm25" +
            "&datetime=" + iso(start) + "/" + iso(end);
        el.textContent = s.loading;
        fetch(url, {headers: {Accept: "application/prs.coverage+json, application/json"}})
            .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
            .then(function (cov) {
                var byHour = {}, times = ((cov.domain || {}).axes || {}).t || {};
                var values = ((cov.ranges || {}).pm25 || {}).values || [];
                (times.values || []).forEach(function (text, i) {
                    var t = Date.parse(text), v = values[i];
                    if (!isNaN(t)) { byHour[t] = typeof v === "number" ? v : null; }
                });
                var points = [];
                for (var t = start; t <= end; t += HOUR) {
                    points.push({t: t, v: byHour[t] === undefined ? null : byHour[t]});
                }
                var n = points.filter(function (p) { return p.v !== null; }).length;
                el.setAttribute("data-points", String(n));
                el.setAttribute("data-state", n ? "ready" : "empty");
                el.innerHTML = n ? svg(points, start, end, s) : "";
                if (!n) { el.textContent = s.empty; }
            })
            .catch(function () { el.textContent = s.error; el.setAttribute("data-state", "error"); });
    }

    window.onemap = Object.assign(window.onemap || {}, {drawSeries: drawSeries});
}());
