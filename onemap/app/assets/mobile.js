/* Phones and tablets (onemap/app/mobile.py): the bottom bar opens one sheet at a time (the
 * state is the attribute data-sheet of <html>, read by mobile.css), and "where am I" lists what
 * is near the browser's position. On a wide screen the bar is hidden and nothing here runs
 * until it is used. */
(function () {
    "use strict";

    var marker = null, circle = null, asked = 0;

    function el() { return document.getElementById("om-where"); }
    function lang() {
        var box = document.querySelector("#om-lang input:checked");
        return box && box.value === "en" ? "en" : "zh";
    }
    function S(key, args) {
        var box = el(), all = box ? JSON.parse(box.dataset.strings || "{}") : {};
        var text = ((all[lang()] || {})[key]) || ((all.zh || {})[key]) || key;
        Object.keys(args || {}).forEach(function (k) { text = text.split("{" + k + "}").join(args[k]); });
        return text;
    }
    function esc(v) {
        return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
            return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
        });
    }
    function theMap() { return window.onemap && window.onemap.tools && window.onemap.tools.map(); }

    /* ---- sheets ------------------------------------------------------------------------ */
    function setSheet(name) {
        document.documentElement.setAttribute("data-sheet", name || "");
        var map = theMap();  /* on a phone the map now ends at the sheet (mobile.css) */
        if (map) { map.invalidateSize({pan: false}); }
        document.querySelectorAll(".om-m-tab").forEach(function (b) {
            var on = b.getAttribute("data-sheet") === name;
            b.setAttribute("aria-expanded", on ? "true" : "false");
            b.classList.toggle("om-m-active", on);
        });
        if (name === "panels" && !document.querySelector(".om-dock.om-dock-open")) {
            var tab = document.querySelector(".om-tab");  /* the dock was folded: open one */
            if (tab) { tab.click(); }
        }
        if (name === "where") { locate(); }
        if (name === "report" && window.onemap.report) { window.onemap.report.opened(); }
    }

    /* ---- where am I -------------------------------------------------------------------- */
    function state(text, cls) {
        var box = el() && el().querySelector(".om-where-state");
        if (box) { box.textContent = text; box.className = "om-where-state " + (cls || ""); }
    }
    function list(html) {
        var box = el() && el().querySelector(".om-where-list");
        if (box) { box.innerHTML = html; }
    }
    function direction(from, to) {
        var rad = Math.PI / 180, y = Math.sin((to.lng - from.lng) * rad) * Math.cos(to.lat * rad);
        var x = Math.cos(from.lat * rad) * Math.sin(to.lat * rad) -
            Math.sin(from.lat * rad) * Math.cos(to.lat * rad) * Math.cos((to.lng - from.lng) * rad);
        var deg = (Math.atan2(y, x) / rad + 360) % 360;
        return {deg: deg, name: ["N", "NE", "E", "SE", "S", "SW", "W", "NW"][Math.round(deg / 45) % 8]};
    }
    function distanceText(m) {
        return m < 1000 ? S("m_m", {m: Math.round(m)}) : S("m_km", {km: (m / 1000).toFixed(m < 10000 ? 1 : 0)});
    }
    function metres(a, b) {
        var g = window.onemap_geodesy;
        return g ? g.distance(a, b) : 0;
    }
    function bbox(here, km) {
        var dLat = km / 111.32, dLon = km / (111.32 * Math.max(0.05, Math.cos(here.lat * Math.PI / 180)));
        return [here.lng - dLon, here.lat - dLat, here.lng + dLon, here.lat + dLat].map(function (v) {
            return v.toFixed(6);
        }).join(",");
    }
    function nearest(base, layer, key, here, radii, n) {
        var km = radii[0];
        var url = base + "ogc/collections/" + encodeURIComponent(layer) + "/items?f=json&limit=500" +
            "&properties=name," + encodeURIComponent(key) + "&bbox=" + bbox(here, km);
        return fetch(url, {credentials: "same-origin", headers: {Accept: "application/geo+json"}})
            .then(function (r) {
                return r.json().catch(function () { return {}; }).then(function (body) {
                    if (!r.ok) {
                        var e = new Error((body && body.detail) || ("HTTP " + r.status)); throw e;
                    }
                    return body;
                });
            })
            .then(function (doc) {
                var found = (doc.features || []).filter(function (f) {
                    return f.geometry && f.geometry.type === "Point";
                }).map(function (f) {
                    var at = {lng: f.geometry.coordinates[0], lat: f.geometry.coordinates[1]};
                    var p = f.properties || {};
                    return {name: p.name || p[key] || f.id, code: p[key] || "", at: at,
                            m: metres(here, at), dir: direction(here, at)};
                }).filter(function (h) { return h.m <= km * 1000; });
                found.sort(function (a, b) { return a.m - b.m; });
                if (!found.length && radii.length > 1) {
                    return nearest(base, layer, key, here, radii.slice(1), n);
                }
                return {radius: km, hits: found.slice(0, n)};
            });
    }
    function show(here) {
        var map = theMap();
        if (!map || !window.L) { return; }
        if (marker) { map.removeLayer(marker); map.removeLayer(circle); }
        circle = L.circle(here, {radius: here.accuracy || 0, weight: 1, color: "#1565C0",
                                 fillOpacity: 0.08, interactive: false}).addTo(map);
        marker = L.circleMarker(here, {radius: 8, weight: 3, color: "#fff", fillColor: "#1565C0",
                                       fillOpacity: 1, className: "om-where-me"}).addTo(map);
        map.setView(here, Math.max(map.getZoom(), 13));
    }
    function found(pos) {
        var box = el();
        var here = {lat: pos.coords.latitude, lng: pos.coords.longitude, accuracy: pos.coords.accuracy};
        state(S("m_where_at", {lon: here.lng.toFixed(5), lat: here.lat.toFixed(5),
                               accuracy: Math.round(here.accuracy || 0)}), "om-where-ok");
        box.dataset.lon = here.lng; box.dataset.lat = here.lat;
        show(here);
        var layers = JSON.parse(box.dataset.layers || "{}"), base = box.dataset.base || "/";
        var radii = JSON.parse(box.dataset.radii || "[5]"), n = Number(box.dataset.nearest || 3);
        var families = Object.keys(layers), mine = ++asked;
        Promise.all(families.map(function (family) {
            return nearest(base, layers[family].id, layers[family].key, here, radii, n)
                .then(function (r) { return {family: family, r: r}; },
                      function (e) { return {family: family, error: e.message || String(e)}; });
        })).then(function (results) {
            if (mine !== asked) { return; }  /* located again meanwhile */
            list(results.map(function (res) {
                var title = S("m_family_" + res.family), layer = layers[res.family].id;
                var body;
                if (res.error) {
                    body = '<p class="om-where-error">' + esc(S("m_where_read_failed", {layer: title, error: res.error})) + "</p>";
                } else if (!res.r.hits.length) {
                    body = '<p class="om-where-empty">' + esc(S("m_where_none", {radius: res.r.radius})) + "</p>";
                } else {
                    body = "<ol>" + res.r.hits.map(function (h) {
                        return '<li><button type="button" class="om-where-item" data-layer="' + esc(layer) +
                            '" data-lon="' + h.at.lng + '" data-lat="' + h.at.lat + '" data-code="' + esc(h.code) + '">' +
                            '<span class="om-where-name">' + esc(h.name) + "</span>" +
                            '<span class="om-where-far"><span class="om-where-arrow" aria-hidden="true" style="transform: rotate(' +
                            Math.round(h.dir.deg) + 'deg)">↑</span> ' + esc(S("m_dir_" + h.dir.name)) + " " +
                            esc(distanceText(h.m)) + "</span></button></li>";
                    }).join("") + "</ol>";
                }
                return '<section class="om-where-group" data-family="' + esc(res.family) + '"><h4>' +
                    esc(title) + "</h4>" + body + "</section>";
            }).join(""));
        });
    }
    function failed(err) {
        state(err && err.code === 1 ? S("m_where_denied") :
              S("m_where_failed", {error: (err && err.message) || "?"}), "om-where-error");
    }
    function locate() {
        list("");
        if (!window.isSecureContext) { state(S("m_where_insecure"), "om-where-error"); return; }
        if (!navigator.geolocation) { state(S("m_where_unsupported"), "om-where-error"); return; }
        state(S("m_where_asking"), "om-where-busy");
        navigator.geolocation.getCurrentPosition(found, failed,
            {enableHighAccuracy: true, timeout: 20000, maximumAge: 30000});
    }
    function goTo(item) {
        var set = window.dash_clientside && window.dash_clientside.set_props;
        var lat = Number(item.getAttribute("data-lat")), lon = Number(item.getAttribute("data-lon"));
        setSheet("");  /* the map, whole, then the place on it */
        if (set) {
            set("om-goto", {data: {center: [lat, lon], zoom: 16,
                                   layers: [item.getAttribute("data-layer")]}});
        }
    }

    /* ---- share a link (a button with data-share-url): the phone's share sheet, else the
       clipboard, else the link shown selected to copy by hand (plain http has no clipboard) */
    function share(button) {
        var url = new URL(button.getAttribute("data-share-url"), window.location.href).href;
        var said = button.parentNode.querySelector(".om-share-said");
        function tell(text) { if (said) { said.textContent = text; } }
        function byHand() {
            if (!said) { return; }
            said.innerHTML = "";
            said.appendChild(document.createTextNode(button.getAttribute("data-manual") || ""));
            var box = document.createElement("input");
            box.readOnly = true; box.value = url; box.className = "om-share-url";
            said.appendChild(box); box.select();
        }
        if (navigator.share) {
            navigator.share({title: button.getAttribute("data-share-title") || "", url: url})
                .catch(function () { return null; });
        } else if (navigator.clipboard && window.isSecureContext) {
            navigator.clipboard.writeText(url).then(function () {
                tell((button.getAttribute("data-copied") || "{url}").split("{url}").join(url));
            }, byHand);
        } else {
            byHand();
        }
    }

    document.addEventListener("click", function (e) {
        var t = e.target;
        if (!t || !t.closest) { return; }
        var sharing = t.closest("[data-share-url]");
        if (sharing) { share(sharing); return; }
        var tab = t.closest(".om-m-tab");
        if (tab) {
            var name = tab.getAttribute("data-sheet");
            setSheet(document.documentElement.getAttribute("data-sheet") === name ? "" : name);
            return;
        }
        if (t.closest(".om-where-again")) { locate(); return; }
        var item = t.closest(".om-where-item");
        if (item) { goTo(item); }
    });

    window.onemap = Object.assign(window.onemap || {}, {mobile: {sheet: setSheet, locate: locate}});
}());
