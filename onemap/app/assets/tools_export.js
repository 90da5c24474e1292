/* Exporting the current view (see onemap/app/tools.py), clientside callbacks of the tool bar.
 *
 * PNG: what the map shows, drawn into a canvas by us (no library, nothing fetched): Leaflet's
 * panes bottom to top, in each pane its tile <img>s at their on-screen place, each SVG renderer
 * serialized to an image, marker icons (images, divIcon SVGs, and HTML bubbles drawn as boxes
 * with their text), permanent labels, and the scale bar. Only images of this origin can be
 * drawn (a canvas with a foreign image can no longer be saved); tiles of an intranet basemap
 * on another host are left out and the message says so. Then the legend and a caption with the
 * title and the map's time (tools_legend.js).
 *
 * HTML: the server renders a standalone folium map of the ticked vector layers in this view
 * (GET api/exports/map.html); we fetch it so an error is said in words, then save it. */
(function () {
    "use strict";

    function T() { return (window.onemap && window.onemap.tools) || null; }

    function stamp() {
        var d = new Date(), p = function (n) { return (n < 10 ? "0" : "") + n; };
        return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate());
    }

    function save(blob, name) {
        var url = URL.createObjectURL(blob);
        var a = document.createElement("a");
        a.href = url;
        a.download = name;
        a.style.display = "none";
        document.body.appendChild(a);
        a.click();
        setTimeout(function () { URL.revokeObjectURL(url); a.remove(); }, 2000);
    }

    /* ---- PNG ---- */
    function opacity(el, stop) {
        var a = 1;
        for (var e = el; e && e !== stop; e = e.parentElement) {
            var cs = getComputedStyle(e);
            if (cs.display === "none" || cs.visibility === "hidden") { return 0; }
            a *= parseFloat(cs.opacity);
        }
        return a;
    }

    function sameOrigin(src) {
        if (/^(data|blob):/.test(src)) { return true; }
        try { return new URL(src, location.href).origin === location.origin; } catch (e) { return false; }
    }

    function transparent(color) {
        return !color || color === "transparent" || /rgba\(.*,\s*0\)$/.test(color);
    }

    function svgImage(svg, rect) {
        var clone = svg.cloneNode(true);
        clone.removeAttribute("style");
        clone.removeAttribute("class");
        clone.setAttribute("xmlns", "http://www.w3.org/2000/svg");
        clone.setAttribute("width", rect.width);
        clone.setAttribute("height", rect.height);
        var xml = new XMLSerializer().serializeToString(clone);
        return new Promise(function (resolve, reject) {
            var img = new Image();
            img.onload = function () { resolve(img); };
            img.onerror = function () { reject(new Error("svg")); };
            img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(xml);
        });
    }

    function radius(value, rect) {
        var v = parseFloat(value) || 0;
        return /%$/.test(value) ? Math.min(rect.width, rect.height) * v / 100 : v;
    }

    /* An HTML element and its descendants as boxes (background, borders) and text. */
    function drawBoxes(root, ctx, o, stop) {
        [root].concat(Array.prototype.slice.call(root.querySelectorAll("*"))).forEach(function (n) {
            if (n instanceof SVGElement || n.tagName === "IMG") { return; }
            var r = n.getBoundingClientRect(), a = opacity(n, stop);
            if (!r.width || !r.height || a <= 0) { return; }
            var cs = getComputedStyle(n), x = r.left - o.left, y = r.top - o.top;
            ctx.globalAlpha = a;
            var rad = radius(cs.borderTopLeftRadius, r), bw = parseFloat(cs.borderTopWidth) || 0;
            if (!transparent(cs.backgroundColor)) {
                ctx.fillStyle = cs.backgroundColor;
                ctx.beginPath();
                ctx.roundRect(x, y, r.width, r.height, rad);
                ctx.fill();
            }
            if (rad > 0 && bw > 0 && !transparent(cs.borderTopColor)) {
                ctx.strokeStyle = cs.borderTopColor;
                ctx.lineWidth = bw;
                ctx.beginPath();
                ctx.roundRect(x + bw / 2, y + bw / 2, r.width - bw, r.height - bw, Math.max(0, rad - bw / 2));
                ctx.stroke();
            } else if (rad === 0) {
                [["Top", x, y, r.width, 0], ["Bottom", x, y + r.height, r.width, 0],
                 ["Left", x, y, 0, r.height], ["Right", x + r.width, y, 0, r.height]].forEach(function (s) {
                    var w = parseFloat(cs["border" + s[0] + "Width"]) || 0, c = cs["border" + s[0] + "Color"];
                    if (!w || transparent(c) || cs["border" + s[0] + "Style"] === "none") { return; }
                    ctx.fillStyle = c;
                    var dx = s[0] === "Right" ? -w : 0, dy = s[0] === "Bottom" ? -w : 0;
                    ctx.fillRect(s[1] + dx, s[2] + dy, s[3] || w, s[4] || w);
                });
            }
            Array.prototype.forEach.call(n.childNodes, function (t) {
                var text = t.nodeType === 3 ? t.textContent.replace(/\s+/g, " ").trim() : "";
                if (!text) { return; }
                var range = document.createRange();
                range.selectNodeContents(t);
                var tr = range.getBoundingClientRect();
                ctx.font = [cs.fontStyle, cs.fontWeight, cs.fontSize, cs.fontFamily].join(" ");
                ctx.textBaseline = "middle";
                ctx.textAlign = "left";
                var tx = tr.left - o.left, ty = tr.top + tr.height / 2 - o.top;
                var halo = cs.textShadow && cs.textShadow !== "none" && cs.textShadow.match(/rgba?\([^)]*\)|#\w+/);
                if (halo) {
                    ctx.strokeStyle = halo[0];
                    ctx.lineWidth = 3;
                    ctx.lineJoin = "round";
                    ctx.strokeText(text, tx, ty);
                }
                ctx.fillStyle = cs.color;
                ctx.fillText(text, tx, ty);
            });
        });
        ctx.globalAlpha = 1;
    }

    /* A function drawing ``el`` (after its images have loaded), or null. */
    function prepare(el, o, stop, skipped) {
        var r = el.getBoundingClientRect(), a = opacity(el, stop);
        if (!r.width || !r.height || a <= 0 || r.right < o.left || r.bottom < o.top ||
                r.left > o.right || r.top > o.bottom) {
            return Promise.resolve(null);
        }
        var at = function (ctx, img, rect) {
            ctx.globalAlpha = a;
            ctx.drawImage(img, rect.left - o.left, rect.top - o.top, rect.width, rect.height);
            ctx.globalAlpha = 1;
        };
        if (el.tagName === "IMG") {
            if (!el.complete || !el.naturalWidth) { return Promise.resolve(null); }
            if (!sameOrigin(el.currentSrc || el.src)) { skipped.n += 1; return Promise.resolve(null); }
            return Promise.resolve(function (ctx) { at(ctx, el, r); });
        }
        if (el.tagName === "CANVAS") { return Promise.resolve(function (ctx) { at(ctx, el, r); }); }
        if (el instanceof SVGSVGElement) {
            return svgImage(el, r).then(function (img) { return function (ctx) { at(ctx, img, r); }; });
        }
        // An HTML marker icon or tooltip: its boxes and text, then its own SVGs and images.
        var inner = Array.prototype.filter.call(el.querySelectorAll("svg, img"), function (s) {
            return !(s.parentElement && s.parentElement.closest("svg"));
        });
        return Promise.all(inner.map(function (s) { return prepare(s, o, stop, skipped); }))
            .then(function (fns) {
                return function (ctx) {
                    drawBoxes(el, ctx, o, stop);
                    fns.forEach(function (f) { if (f) { f(ctx); } });
                };
            });
    }

    function zOf(el, pane) {
        var e = el;
        while (e.parentElement && e.parentElement !== pane) { e = e.parentElement; }
        return parseInt(getComputedStyle(e).zIndex, 10) || 0;
    }

    function render(map) {
        var container = map.getContainer(), o = container.getBoundingClientRect();
        var dpr = window.devicePixelRatio || 1, skipped = {n: 0};
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(o.width * dpr);
        canvas.height = Math.round(o.height * dpr);
        var ctx = canvas.getContext("2d");
        ctx.scale(dpr, dpr);
        var bg = getComputedStyle(container).backgroundColor;
        ctx.fillStyle = transparent(bg) ? "#ffffff" : bg;
        ctx.fillRect(0, 0, o.width, o.height);
        var panes = Array.prototype.slice.call(map.getPane("mapPane").querySelectorAll(".leaflet-pane"))
            .filter(function (p) { return p !== map.getPane("popupPane"); })
            .map(function (p, i) { return {el: p, z: parseInt(getComputedStyle(p).zIndex, 10) || 0, i: i}; })
            .sort(function (a, b) { return a.z - b.z || a.i - b.i; });
        var items = [];
        panes.forEach(function (p) {
            var els = Array.prototype.filter.call(
                p.el.querySelectorAll("img, svg, canvas, .leaflet-marker-icon, .leaflet-tooltip"),
                function (e) {
                    if (e.closest(".leaflet-pane") !== p.el) { return false; }
                    var up = e.parentElement;
                    return !(up && up.closest(".leaflet-marker-icon, .leaflet-tooltip, svg"));
                });
            els.map(function (e, i) { return {el: e, z: zOf(e, p.el), i: i}; })
                .sort(function (a, b) { return a.z - b.z || a.i - b.i; })
                .forEach(function (e) { items.push(e.el); });
        });
        items = items.concat(Array.prototype.slice.call(container.querySelectorAll(".leaflet-control-scale")));
        return Promise.all(items.map(function (e) { return prepare(e, o, container, skipped); }))
            .then(function (fns) {
                fns.forEach(function (f) { if (f) { f(ctx); } });
                var decor = (window.onemap && window.onemap.exportDecor) || null;
                var legend = decor ? decor.legend(ctx, o, o.width, o.height) : null;
                var caption = decor ? decor.caption(ctx) : null;
                return {canvas: canvas, skipped: skipped.n, legend: legend, caption: caption};
            });
    }

    function exportPng() {
        var t = T(), map = t && t.map();
        if (!map) { return window.dash_clientside.no_update; }
        t.message("tool_png_busy", {}, "busy");
        var file = "onemap-" + stamp() + ".png";
        return render(map).then(function (res) {
            return new Promise(function (resolve, reject) {
                res.canvas.toBlob(function (blob) { return blob ? resolve(blob) : reject(new Error("blob")); },
                                  "image/png");
            }).then(function (blob) {
                save(blob, file);
                t.last = {legend: res.legend, caption: res.caption};  // where they were drawn
                t.message(res.skipped ? "tool_png_skipped" : "tool_saved", {file: file, n: res.skipped}, "ok");
                return {kind: "png", ok: true, file: file, width: res.canvas.width,
                        height: res.canvas.height, skipped: res.skipped, legend: res.legend,
                        caption: res.caption};
            });
        }).catch(function (err) {
            t.message("tool_err_png", {}, "error");
            return {kind: "png", ok: false, error: String(err && err.message || err)};
        });
    }

    /* ---- folium HTML ---- */
    function bboxOf(map) {
        var b = map.getBounds(), r = function (v) { return Math.round(v * 1e6) / 1e6; };
        return [Math.max(r(b.getWest()), -180), Math.max(r(b.getSouth()), -90),
                Math.min(r(b.getEast()), 180), Math.min(r(b.getNorth()), 90)];
    }

    function exportHtml(n, groups, rasters, lang, config, when) {
        var t = T(), map = t && t.map();
        if (!map) { return window.dash_clientside.no_update; }
        var layers = [];
        (groups || []).forEach(function (g) {
            (g || []).forEach(function (id) { if (layers.indexOf(id) < 0) { layers.push(id); } });
        });
        if (!layers.length) {
            t.message("tool_no_layers", {}, "error");
            return {kind: "html", ok: false, error: "no layers"};
        }
        var query = new URLSearchParams({layers: layers.join(","), bbox: bboxOf(map).join(","),
                                         lang: lang === "en" ? "en" : "zh"});
        if (when) { query.set("time", when); }  // the time bar's hour (none: latest)
        var url = ((config && config.base) || "/") + "api/exports/map.html?" + query.toString();
        var file = "onemap-" + stamp() + ".html";
        t.message("tool_html_busy", {}, "busy");
        return fetch(url).then(function (resp) {
            if (!resp.ok) {
                return resp.json().catch(function () { return {}; }).then(function (body) {
                    throw {status: resp.status, code: body.code || ""};
                });
            }
            return resp.blob();
        }).then(function (blob) {
            save(blob, file);
            var imagery = (rasters || []).some(function (v) { return v && v.length; });
            t.message(imagery ? "tool_saved_vector_only" : "tool_saved", {file: file}, "ok");
            return {kind: "html", ok: true, file: file, url: url, layers: layers};
        }).catch(function (err) {
            var status = (err && err.status) || 0;
            var key = status === 404 ? "tool_err_notfound" : status === 400 || status === 422
                ? "tool_err_bad" : status ? "tool_err_http" : "tool_err_network";
            t.message(key, {status: status}, "error");
            return {kind: "html", ok: false, status: status, url: url};
        });
    }

    window.dash_clientside = Object.assign({}, window.dash_clientside);
    window.dash_clientside.onemap_tools = Object.assign({}, window.dash_clientside.onemap_tools, {
        exportPng: exportPng,
        exportHtml: exportHtml
    });
    window.onemap = Object.assign(window.onemap || {}, {renderView: render});
}());
