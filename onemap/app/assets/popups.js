/*
 * The blocks some families' popups show above (and below) the plain field table of onemap.js:
 *   water_sections    - latest class chip against the target class, then the recent samples
 *                       (drawn by water_history.js when the popup opens);
 *   pollution_sources - the permit (number, class, valid-until judged on the data's date),
 *                       the outlets with their kind, the emissions in two groups (t/a);
 *   incidents         - status and level badges, then the description.
 * Labels, colours and names come in the layer's hideout (onemap/app/labels.py popup_spec,
 * onemap/app/layers.py); strings in hideout.strings. Fields drawn here are listed in
 * hideout.popup.block and left out of the table.
 */
(function () {
    "use strict";

    function u() { return window.onemap.util; }
    function str(h, key) { return (h.strings && h.strings[key]) || ""; }
    function colon(h) { return h.lang === "en" ? ": " : "："; }
    function extra(h) { return (h.popup && h.popup.extra) || {}; }
    function label(h, field) {
        var f = ((h.popup && h.popup.fields) || []).filter(function (x) { return x[0] === field; });
        return f.length ? f[0][1] : field;
    }
    function coded(h, field, value) {
        var v = h.popup && h.popup.values && h.popup.values[field];
        return (v && v[value] !== undefined) ? v[value] : value;
    }

    /* A coloured label; `attrs` is extra attribute text (already escaped). */
    function chip(color, text, cls, attrs) {
        var esc = u().esc;
        return '<span class="om-chip ' + (cls || "") + '" ' + (attrs || "") + ' style="background:' +
            esc(color) + ";color:" + u().ink(color) + '">' + esc(text) + "</span>";
    }

    // ---- water sections ------------------------------------------------------------------
    function waterClass(h, value) {
        var all = extra(h).classes || [];
        for (var i = 0; i < all.length; i++) {
            if (all[i][0] === value) {
                return {value: value, rank: i, color: all[i][1], short: all[i][2], full: all[i][3]};
            }
        }
        return null;
    }

    /* A class chip (grey dash when the class is unknown); data-class holds the code. */
    function classChip(h, value, big) {
        var esc = u().esc, c = waterClass(h, value);
        if (!c) { return chip("#9E9E9E", "—", "om-chip-class", 'data-class=""'); }
        return chip(c.color, big ? c.full : c.short, "om-chip-class" + (big ? " om-chip-big" : ""),
                    'data-class="' + esc(c.value) + '" title="' + esc(c.full) + '"');
    }

    /* "tp:0.6,nh3n:0.2,do" -> "总磷 0.6、氨氮 0.2、溶解氧" (names from the hideout). */
    function exceedText(h, text) {
        var names = extra(h).parameters || {};
        var sep = h.lang === "en" ? ", " : "、";
        return String(text || "").split(",").filter(function (p) { return p.trim(); })
            .map(function (p) {
                var kv = p.split(":"), name = names[kv[0].trim()] || kv[0].trim();
                return kv.length > 1 && kv[1].trim() ? name + " " + kv[1].trim() : name;
            }).join(sep);
    }

    function waterBlock(props, h) {
        var esc = u().esc, missing = u().missing;
        var now = waterClass(h, props.water_class), target = waterClass(h, props.target_class);
        var verdict = "";
        if (now && target) {
            var ok = now.rank <= target.rank;
            verdict = '<span class="om-verdict ' + (ok ? "om-ok" : "om-bad") + '">' +
                esc(str(h, ok ? "pp_meets" : "pp_misses")) + "</span>";
        }
        var lines = "<div><b>" + esc(str(h, "pp_target") + colon(h)) + "</b>" +
            (target ? esc(target.full) : "—") + " " + verdict + "</div>";
        if (!missing(props.sample_time)) {
            lines += "<div><b>" + esc(str(h, "pp_sampled") + colon(h)) + "</b>" +
                esc(u().formatTime(props.sample_time)) + "</div>";
        }
        if (!missing(props.exceeding)) {
            lines += '<div class="om-exceed"><b>' + esc(str(h, "pp_exceeding") + colon(h)) + "</b>" +
                esc(exceedText(h, props.exceeding)) + "</div>";
        }
        return '<div class="om-pp-head om-water-head">' + classChip(h, props.water_class, true) +
            '<div class="om-pp-head-text">' + lines + "</div></div>";
    }

    // ---- pollution sources ---------------------------------------------------------------
    function dayNumber(text) {
        var m = /^(\d{4})-(\d\d)-(\d\d)/.exec(String(text || ""));
        return m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) / 86400000 : null;
    }

    /* The validity of a permit on the data's "today" (hideout.today, never the wall clock). */
    function validity(h, until) {
        var end = dayNumber(until), today = dayNumber(h.today);
        if (end === null || today === null) { return null; }
        if (end < today) { return "expired"; }
        return end - today <= (extra(h).renewal_days || 60) ? "expiring" : "valid";
    }

    function row(th, td, attrs) {
        return "<tr " + (attrs || "") + "><th>" + th + "</th><td>" + td + "</td></tr>";
    }

    function permitRows(props, h) {
        var esc = u().esc, missing = u().missing, ex = extra(h), out = "";
        if (!missing(props.permit_id)) {
            out += row(esc(label(h, "permit_id")), esc(props.permit_id));
        }
        if (!missing(props.permit_class)) {
            var color = (ex.permit_colors || {})[props.permit_class] || "#9E9E9E";
            out += row(esc(label(h, "permit_class")), chip(color, coded(h, "permit_class",
                props.permit_class), "om-chip-permit", 'data-permit-class="' +
                esc(props.permit_class) + '"'));
        }
        if (!missing(props.permit_valid_until)) {
            var until = String(props.permit_valid_until).slice(0, 10), state = validity(h, until);
            var mark = state ? ' <span class="om-validity om-validity-' + state + '" data-state="' +
                state + '" title="' + esc(str(h, "ps_as_of").replace("{date}", h.today)) + '">' +
                esc(str(h, "ps_" + state)) + "</span>" : "";
            out += row(esc(label(h, "permit_valid_until")), esc(until) + mark,
                       'class="om-permit-until"');
        } else if (missing(props.permit_id) && props.permit_class === "registration") {
            out += '<tr><td colspan="2" class="om-note">' + esc(str(h, "ps_registration")) +
                "</td></tr>";
        }
        return out;
    }

    function outletList(props, h) {
        var esc = u().esc, kinds = extra(h).outlet_kinds || {};
        var codes = String(props.outlets || "").split(/[;；,，\s]+/).filter(Boolean);
        if (!codes.length) { return ""; }
        return codes.map(function (code) {
            var kind = kinds[code.slice(0, 2).toUpperCase()] || ["other", str(h, "ps_outlet_other")];
            return '<li class="om-outlet" data-outlet="' + esc(code) + '" data-kind="' +
                esc(kind[0]) + '"><code>' + esc(code) + "</code> " + esc(kind[1]) + "</li>";
        }).join("");
    }

    /* Air and water side by side (name, t/a), missing values left out, empty groups too. */
    function emissionTable(props, h) {
        var esc = u().esc, missing = u().missing, lang = h.lang === "en" ? "en" : "zh-CN";
        var groups = (extra(h).emissions || []).map(function (g) {
            return {key: g[0], name: g[1], rows: g[2].filter(function (f) {
                return !missing(props[f[0]]); })};
        }).filter(function (g) { return g.rows.length; });
        if (!groups.length) { return ""; }
        var n = Math.max.apply(null, groups.map(function (g) { return g.rows.length; }));
        var head = groups.map(function (g) {
            return '<th colspan="2" class="om-em-group" data-group="' + esc(g.key) + '">' +
                esc(g.name) + "</th>";
        }).join("");
        var body = "";
        for (var i = 0; i < n; i++) {
            body += "<tr>" + groups.map(function (g) {
                var f = g.rows[i];
                if (!f) { return "<td></td><td></td>"; }
                var v = Number(props[f[0]]).toLocaleString(lang, {maximumFractionDigits: 3});
                return '<td class="om-em-name">' + esc(f[1]) + '</td><td class="om-em-value" ' +
                    'data-field="' + esc(f[0]) + '" data-group="' + esc(g.key) + '">' + esc(v) +
                    "</td>";
            }).join("") + "</tr>";
        }
        return '<div class="om-pp-section">' + esc(str(h, "ps_emissions")) + "</div>" +
            '<table class="om-emissions"><thead><tr>' + head + "</tr></thead><tbody>" + body +
            "</tbody></table>";
    }

    function sourceBlock(props, h) {
        var esc = u().esc;
        var permit = permitRows(props, h), outlets = outletList(props, h);
        var out = permit ? '<div class="om-pp-section">' + esc(str(h, "ps_permit")) + "</div>" +
            '<table class="om-popup-table om-permit">' + permit + "</table>" : "";
        if (outlets) {
            out += '<div class="om-pp-section">' + esc(label(h, "outlets")) + "</div>" +
                '<ul class="om-outlets">' + outlets + "</ul>";
        }
        return '<div class="om-pp-block">' + out + emissionTable(props, h) + "</div>";
    }

    // ---- incidents -----------------------------------------------------------------------
    function incidentBlock(props, h) {
        var esc = u().esc, missing = u().missing, ex = extra(h), out = "";
        if (!missing(props.status)) {
            out += '<span class="om-badge-label">' + esc(label(h, "status")) + "</span>" +
                chip((ex.status_colors || {})[props.status] || "#757575",
                     coded(h, "status", props.status), "om-badge om-badge-status",
                     'data-status="' + esc(props.status) + '"');
        }
        if (!missing(props.level)) {
            out += '<span class="om-badge-label">' + esc(label(h, "level")) + "</span>" +
                chip((ex.level_colors || {})[props.level] || "#757575",
                     coded(h, "level", props.level), "om-badge om-badge-level",
                     'data-level="' + esc(props.level) + '"');
        }
        return '<div class="om-pp-head om-badges">' + out + "</div>";
    }

    function popupBlock(props, h) {
        if (h.family === "water_sections") { return waterBlock(props, h); }
        if (h.family === "incidents") { return incidentBlock(props, h); }
        if (h.family === "alarms" && window.onemap.alarmBlock) {  // assets/live.js
            return window.onemap.alarmBlock(props, h);
        }
        return "";
    }

    /* What follows the field table: a section's history, a source's permit and emissions,
       an incident's description. */
    function popupTail(props, h) {
        var esc = u().esc;
        // online monitoring (assets/live.js): an alarm's buttons, an outlet's recent readings
        var live = window.onemap.readingsTail ? window.onemap.readingsTail(props, h) : "";
        if (h.family === "alarms" && window.onemap.alarmTail) { return window.onemap.alarmTail(props, h); }
        if (h.family === "outlets") { return live; }
        if (h.family === "pollution_sources") { return sourceBlock(props, h) + live; }
        if (h.family === "water_sections" && h.history) {
            // Sized as when loaded, so that the popup opens (and pans) at its final size.
            return '<div class="om-wh om-wh-loading" data-section="' + esc(props.section_id || "") +
                '"></div>';
        }
        if (h.family === "incidents") {
            var text = u().missing(props.description) ? "" :
                '<div class="om-pp-section">' + esc(label(h, "description")) + "</div>" +
                '<div class="om-description">' + esc(props.description) + "</div>";
            // the site photos, filled when the popup opens (photosOpened)
            return text + (h.photos ? '<div class="om-photos" data-feature="' +
                esc(props.incident_id || "") + '"></div>' : "");
        }
        return "";
    }

    /* An incident's popup opened: its site photos from /api/attachments (none: nothing). */
    function photosOpened(el, props, h) {
        var box = el && el.querySelector(".om-photos");
        if (!box || !h.photos || !props.incident_id) { return; }
        var esc = u().esc;
        box.innerHTML = '<div class="om-note">' + esc(str(h, "ph_loading")) + "</div>";
        fetch(h.photos + encodeURIComponent(props.incident_id),
              {credentials: "same-origin", headers: {Accept: "application/json"}})
            .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
            .then(function (doc) {
                var items = doc.attachments || [];
                if (!items.length) { box.innerHTML = ""; return; }
                box.innerHTML = '<div class="om-pp-section">' + esc(str(h, "ph_title")) + " (" +
                    items.length + ")</div>" + '<div class="om-photo-row">' +
                    items.map(function (a) {
                        return '<a class="om-photo" href="' + esc(a.href) + '" target="_blank" ' +
                            'rel="noopener" title="' + esc(str(h, "ph_open")) + '">' +
                            '<img src="' + esc(a.href) + '" alt="' + esc(str(h, "ph_title")) +
                            '" loading="lazy" width="' + Math.round(96 * a.width / Math.max(a.width, a.height)) +
                            '" height="' + Math.round(96 * a.height / Math.max(a.width, a.height)) + '"></a>';
                    }).join("") + "</div>";
            })
            .catch(function () {
                box.innerHTML = '<div class="om-note">' + esc(str(h, "ph_error")) + "</div>";
            });
    }

    window.onemap = Object.assign(window.onemap || {}, {
        popupBlock: popupBlock,
        popupTail: popupTail,
        photosOpened: photosOpened,
        popupParts: {chip: chip, classChip: classChip, waterClass: waterClass, exceedText: exceedText,
                     validity: validity}
    });
}());
