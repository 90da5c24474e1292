/* Report from the field (onemap/app/report.py): create or update an incident through OGC API
 * Features Part 4, then send its photos to /api/attachments, as the logged-in user; the server
 * decides who may. The sheet is opened by mobile.js (window.onemap.report.opened). */
(function () {
    "use strict";

    var place = null, marker = null, features = {};

    function el() { return document.getElementById("om-report"); }
    function lang() {
        var box = document.querySelector("#om-lang input:checked");
        return box && box.value === "en" ? "en" : "zh";
    }
    function S(key, args) {
        var all = JSON.parse((el() && el().dataset.strings) || "{}");
        var text = ((all[lang()] || {})[key]) || ((all.zh || {})[key]) || key;
        Object.keys(args || {}).forEach(function (k) { text = text.split("{" + k + "}").join(args[k]); });
        return text;
    }
    function $(id) { return document.getElementById(id); }
    function state(text, cls) {
        var box = el() && el().querySelector(".om-rp-state");
        if (box) { box.textContent = text; box.className = "om-rp-state " + (cls || ""); }
    }
    function set(id, props) {
        var cc = window.dash_clientside;
        if (cc && cc.set_props) { cc.set_props(id, props); }
    }
    function theMap() { return window.onemap && window.onemap.tools && window.onemap.tools.map(); }
    function headers(extra) {
        var h = Object.assign({Accept: "application/geo+json, application/json"}, extra || {});
        return window.onemapCsrf ? window.onemapCsrf(h) : h;
    }
    function items() {
        return el().dataset.base + "ogc/collections/" + encodeURIComponent(el().dataset.layer) + "/items";
    }
    function failure(r) {  /* the server's {code, detail} in words (onemap.errorText: lang.js) */
        return r.json().catch(function () { return {}; }).then(function (body) {
            var words = window.onemap.errorText ? window.onemap.errorText(body, r.status, lang()) :
                (body.detail || ("HTTP " + r.status));
            var e = new Error(words); e.status = r.status; throw e;
        });
    }

    /* ---- the form ---------------------------------------------------------------------- */
    function fileInput() {
        var slot = $("om-rp-photos-slot");
        if (slot && !$("om-rp-photos")) {
            var input = document.createElement("input");
            input.type = "file"; input.id = "om-rp-photos"; input.multiple = true;
            input.accept = "image/*"; input.setAttribute("capture", "environment");
            input.className = "om-field-input";
            slot.appendChild(input);
        }
    }
    function relabel() {
        el().querySelectorAll("select").forEach(function (sel) {
            sel.querySelectorAll("option[data-zh]").forEach(function (o) {
                o.textContent = o.getAttribute("data-" + lang()) || o.getAttribute("data-zh");
            });
            if (sel.dataset.default && !sel.dataset.ready) {
                sel.value = sel.dataset.default; sel.dataset.ready = "1";
            }
        });
        var first = $("om-rp-target") && $("om-rp-target").options[0];
        if (first) { first.textContent = S("rp_new"); }
    }
    function setPlace(latlng) {
        place = {lat: latlng.lat, lng: latlng.lng};
        $("om-rp-where").textContent = S("rp_at", {lon: place.lng.toFixed(6), lat: place.lat.toFixed(6)});
        var map = theMap();
        if (map && window.L) {
            if (marker) { map.removeLayer(marker); }
            marker = L.circleMarker(place, {radius: 9, weight: 3, color: "#fff", fillColor: "#D50000",
                                            fillOpacity: 1, className: "om-rp-marker"}).addTo(map);
        }
    }
    function gps() {
        if (!window.isSecureContext) { state(S("m_where_insecure"), "om-rp-error"); return; }
        navigator.geolocation.getCurrentPosition(function (pos) {
            setPlace({lat: pos.coords.latitude, lng: pos.coords.longitude});
            state("");
        }, function (err) {
            state(err && err.code === 1 ? S("m_where_denied") :
                  S("rp_gps_failed", {error: (err && err.message) || "?"}), "om-rp-error");
        }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 30000});
    }
    function tap() {
        var map = theMap();
        if (!map) { return; }
        state(S("rp_tap_now"));
        window.onemap.mobile.sheet("");  /* the whole map, to tap on */
        map.once("preclick", function (e) {
            setPlace(e.latlng.wrap());
            window.onemap.mobile.sheet("report");
            state("");
        });
    }
    function openIncidents() {  /* the open incidents the user may update */
        var url = items() + "?f=json&limit=200&sortby=-time&filter=" +
            encodeURIComponent("status <> 'closed'");
        fetch(url, {credentials: "same-origin", headers: headers()})
            .then(function (r) { return r.ok ? r.json() : {features: []}; })
            .then(function (doc) {
                var sel = $("om-rp-target"), keep = sel.value;
                while (sel.options.length > 1) { sel.remove(1); }
                features = {};
                (doc.features || []).forEach(function (f) {
                    var p = f.properties || {}, id = String(p.incident_id || f.id);
                    features[id] = f;
                    var o = document.createElement("option");
                    o.value = id; o.textContent = id + " · " + (p.title || "");
                    sel.appendChild(o);
                });
                sel.value = features[keep] ? keep : "";
            })
            .catch(function () { return null; });
    }
    function chosen() {
        var f = features[$("om-rp-target").value];
        if (!f) { set("om-rp-title", {value: ""}); return; }
        var p = f.properties || {};
        set("om-rp-title", {value: p.title || ""});
        ["level", "status", "type"].forEach(function (k) {
            if (p[k]) { $("om-rp-" + k).value = p[k]; }
        });
        $("om-rp-note").value = p.description || "";
        if (f.geometry && f.geometry.type === "Point") {
            setPlace({lng: f.geometry.coordinates[0], lat: f.geometry.coordinates[1]});
        }
    }

    /* ---- sending ----------------------------------------------------------------------- */
    function photos(id) {
        var input = $("om-rp-photos"), files = input ? Array.prototype.slice.call(input.files || []) : [];
        var sent = 0, problems = [];
        var base = el().dataset.base + "api/attachments/" + encodeURIComponent(el().dataset.layer) +
            "/" + encodeURIComponent(id);
        return files.reduce(function (chain, file, i) {
            return chain.then(function () {
                state(S("rp_photo_sending", {i: i + 1, n: files.length}), "om-rp-busy");
                var form = new FormData();
                form.append("file", file, file.name || "photo.jpg");
                return fetch(base, {method: "POST", credentials: "same-origin", body: form,
                                    headers: headers()})
                    .then(function (r) { if (!r.ok) { return failure(r); } sent += 1; return null; })
                    .catch(function (e) {
                        problems.push(S("rp_photo_failed", {name: file.name || i + 1, error: e.message}));
                    });
            });
        }, Promise.resolve()).then(function () { return {sent: sent, problems: problems}; });
    }
    function send() {
        var target = $("om-rp-target").value, title = ($("om-rp-title").value || "").trim();
        if (!target && !title) { state(S("rp_no_title"), "om-rp-error"); return; }
        if (!target && !place) { state(S("rp_no_place"), "om-rp-error"); return; }
        var props = {level: $("om-rp-level").value, status: $("om-rp-status").value,
                     description: $("om-rp-note").value.trim() || null};
        var request;
        if (target) {
            if (title) { props.title = title; }
            var patch = {type: "Feature", properties: props};
            if (place) { patch.geometry = {type: "Point", coordinates: [place.lng, place.lat]}; }
            request = fetch(items() + "/" + encodeURIComponent(target), {
                method: "PATCH", credentials: "same-origin", body: JSON.stringify(patch),
                headers: headers({"Content-Type": "application/json"})});
        } else {
            props.title = title; props.type = $("om-rp-type").value;
            props.time = new Date().toISOString().replace(/\.\d+Z$/, "Z");
            request = fetch(items(), {
                method: "POST", credentials: "same-origin",
                body: JSON.stringify({type: "Feature", properties: props,
                                      geometry: {type: "Point", coordinates: [place.lng, place.lat]}}),
                headers: headers({"Content-Type": "application/geo+json"})});
        }
        $("om-rp-send").disabled = true;
        state(S("rp_sending"), "om-rp-busy");
        request
            .then(function (r) { return r.ok ? r.json() : failure(r); })
            .then(function (feature) {
                var id = String((feature.properties || {}).incident_id || feature.id || target);
                var at = feature.geometry && feature.geometry.coordinates;
                return photos(id).then(function (res) {
                    var words = S(target ? "rp_done_update" : "rp_done_new",
                                  {title: (feature.properties || {}).title || title, id: id,
                                   n: res.sent});
                    state([words].concat(res.problems).join(" "),
                          res.problems.length ? "om-rp-error" : "om-rp-done");
                    el().setAttribute("data-last", id);
                    var url = el().dataset.url;  /* read the layer again: a new fragment */
                    if (url) {                   /* (never sent) makes a new URL to fetch */
                        set("om-layer-" + el().dataset.layer, {url: url.split("#")[0] + "#v=" + Date.now()});
                    }
                    if (at) {
                        set("om-goto", {data: {center: [at[1], at[0]], zoom: 15,
                                               layers: [el().dataset.layer]}});
                    }
                    var input = $("om-rp-photos");
                    if (input) { input.value = ""; }
                    openIncidents();
                });
            })
            .catch(function (e) { state(S("rp_failed", {error: e.message}), "om-rp-error"); })
            .then(function () { $("om-rp-send").disabled = false; });
    }

    document.addEventListener("click", function (e) {
        var t = e.target && e.target.closest && e.target.closest("#om-rp-gps, #om-rp-tap, #om-rp-send");
        if (!t) { return; }
        if (t.id === "om-rp-gps") { gps(); } else if (t.id === "om-rp-tap") { tap(); } else { send(); }
    });
    document.addEventListener("change", function (e) {
        if (e.target && e.target.id === "om-rp-target") { chosen(); }
    });

    window.onemap = Object.assign(window.onemap || {}, {report: {
        opened: function () {
            if (!el() || el().querySelector(".om-rp-form").hidden) { return; }
            fileInput(); relabel(); openIncidents();
        }
    }});
}());
