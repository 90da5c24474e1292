/* A water section's recent samples in its popup, fetched when the popup opens from the OGC API
 * items of the samples table (the same request QGIS could make):
 *   <base>ogc/collections/water_samples/items?f=json&section_id=<id>&sortby=-time&limit=24
 * Each sample carries its GB 3838-2002 class (`water_class`) and the parameters over the
 * section's target class (`exceeding`, "tp:0.6,nh3n:0.2"), both computed by the server.
 * Drawn as a strip (class per sample against the target line, oldest left) and a table
 * (date in Beijing time, class chip, exceeding parameters), newest first.
 * Called by onemap.js; the URL and limit are hideout.history (onemap/app/layers.py). */
(function () {
    "use strict";
    // No font-family on the SVG: the page's stack puts DejaVu before WenQuanYi, whose Ⅴ is blank.
    var W = 330, L0 = 30, R0 = 8, T0 = 4, ROW = 11, B0 = 15;

    function u() { return window.onemap.util; }
    function parts() { return window.onemap.popupParts; }
    function str(h, key) { return (h.strings && h.strings[key]) || ""; }

    function axisName(c) { return c[2].replace(/类$/, ""); }

    /* The strip: one dot per sample on the class rows I (top) .. V+ (bottom). */
    function strip(samples, h, targetRank) {
        var esc = u().esc, classes = (h.popup.extra || {}).classes || [];
        var n = samples.length, height = T0 + ROW * classes.length + B0;
        var x = function (i) { return n === 1 ? (L0 + W - R0) / 2 : L0 + (W - L0 - R0) * i / (n - 1); };
        var y = function (rank) { return T0 + ROW * rank + ROW / 2; };
        var out = '<svg class="om-wh-strip" width="' + W + '" height="' + height + '" viewBox="0 0 ' +
            W + " " + height + '" xmlns="http://www.w3.org/2000/svg" font-size="10">';
        classes.forEach(function (c, r) {
            out += '<rect x="' + L0 + '" y="' + (T0 + ROW * r) + '" width="' + (W - L0 - R0) +
                '" height="' + ROW + '" fill="' + esc(c[1]) + '" fill-opacity="0.14"/>' +
                '<text x="' + (L0 - 4) + '" y="' + (y(r) + 3.5) + '" text-anchor="end" ' +
                'fill="#546E7A">' + esc(axisName(c)) + "</text>";
        });
        if (targetRank !== null) {
            var ty = T0 + ROW * (targetRank + 1);
            out += '<line class="om-wh-target" x1="' + L0 + '" x2="' + (W - R0) + '" y1="' + ty +
                '" y2="' + ty + '" stroke="#C62828" stroke-width="1.2" stroke-dasharray="4 2"/>';
        }
        var runs = [[]], dots = "";
        samples.forEach(function (s, i) {
            if (!s.cls) { runs.push([]); return; }
            var pt = x(i).toFixed(1) + "," + y(s.cls.rank).toFixed(1);
            runs[runs.length - 1].push(pt);
            dots += '<circle cx="' + pt.split(",")[0] + '" cy="' + pt.split(",")[1] +
                '" r="3.6" fill="' + esc(s.cls.color) + '" stroke="#263238" stroke-width="0.6">' +
                "<title>" + esc(s.date + " " + s.cls.full) + "</title></circle>";
        });
        runs.forEach(function (r) {
            if (r.length > 1) {
                out += '<polyline fill="none" stroke="#78909C" stroke-width="1" points="' +
                    r.join(" ") + '"/>';
            }
        });
        out += dots;
        if (n) {
            var yb = height - 4;
            out += '<text x="' + L0 + '" y="' + yb + '" fill="#607D8B">' + esc(samples[0].date) +
                "</text>";
            if (n > 1) {
                out += '<text x="' + (W - R0) + '" y="' + yb + '" text-anchor="end" fill="#607D8B">' +
                    esc(samples[n - 1].date) + "</text>";
            }
        }
        return out + "</svg>";
    }

    function table(samples, h) {
        var esc = u().esc, p = parts();
        var head = "<tr><th>" + esc(str(h, "wh_date")) + "</th><th>" + esc(str(h, "wh_class")) +
            "</th><th>" + esc(str(h, "pp_exceeding")) + "</th></tr>";
        var rows = samples.map(function (s) {
            var ex = p.exceedText(h, s.exceeding);
            return '<tr class="om-wh-row" data-date="' + esc(s.date) + '" data-class="' +
                esc(s.cls ? s.cls.value : "") + '" title="' + esc(s.when) + '"><td>' +
                esc(s.date) + "</td><td>" + p.classChip(h, s.cls ? s.cls.value : null) + "</td>" +
                '<td class="' + (ex ? "om-exceed" : "om-none") + '">' + esc(ex || "—") + "</td></tr>";
        }).join("");
        return '<div class="om-wh-scroll"><table class="om-wh-table"><thead>' + head +
            "</thead><tbody>" + rows + "</tbody></table></div>";
    }

    function message(el, text, state) {
        el.className = "om-wh om-wh-" + state;
        el.setAttribute("data-state", state);
        el.innerHTML = '<div class="om-wh-message">' + u().esc(text) + "</div>";
    }

    /* Fill `el` with the recent samples of section `props.section_id`. */
    function drawWaterHistory(el, props, h) {
        var cfg = h.history || {}, p = parts(), id = props.section_id;
        if (!el || !id || !cfg.url) { if (el) { message(el, str(h, "wh_empty"), "empty"); } return; }
        var url = cfg.url + "?f=json&section_id=" + encodeURIComponent(id) +
            "&sortby=-time&limit=" + (cfg.limit || 24);
        message(el, str(h, "wh_loading"), "loading");
        fetch(url, {headers: {Accept: "application/geo+json"}})
            .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
            .then(function (doc) {
                var samples = (doc.features || []).map(function (f) {
                    var q = f.properties || {}, when = u().formatTime(q.time || "");
                    return {date: when.slice(0, 10), when: when, exceeding: q.exceeding || "",
                            cls: u().missing(q.water_class) ? null : p.waterClass(h, q.water_class)};
                });
                if (!samples.length) { message(el, str(h, "wh_empty"), "empty"); return; }
                var target = p.waterClass(h, props.target_class);
                var title = str(h, "wh_title").replace("{n}", String(samples.length));
                el.className = "om-wh om-wh-ready";
                el.setAttribute("data-state", "ready");
                el.setAttribute("data-count", String(samples.length));
                var legend = target ? '<span class="om-wh-legend">' + u().esc(
                    str(h, "pp_target") + " " + target.full) + "</span>" : "";
                el.innerHTML = '<div class="om-pp-section">' + u().esc(title) + legend + "</div>" +
                    strip(samples.slice().reverse(), h, target ? target.rank : null) +
                    table(samples, h);
            })
            .catch(function () { message(el, str(h, "wh_error"), "error"); });
    }

    window.onemap = Object.assign(window.onemap || {}, {drawWaterHistory: drawWaterHistory});
}());
