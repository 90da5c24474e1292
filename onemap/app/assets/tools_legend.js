/* The legend and caption of an exported PNG (tools_export.js draws the map itself).
 *
 * A map image pasted into a report must say what its colours mean and when it shows: the
 * legend is redrawn on the canvas from the legend box on screen (#om-legend: the same titles,
 * swatches and ramps, in the page's language), without its opacity sliders and without its
 * scroll limit, its lower right corner where the box is on screen; the caption (top left) gives
 * the map's title and the time-bar label. Drawing from the DOM keeps one source of symbology:
 * the legend box is itself built from onemap.styles (onemap/app/legend.py). */
(function () {
    "use strict";

    var FONT = '"Microsoft YaHei","PingFang SC","Helvetica Neue",Arial,"DejaVu Sans",' +
        '"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif';
    var PAD = 8, ROW = 17, SW = 12, GAP = 6, RAMP_W = 150;

    function text(el) { return el ? el.textContent.replace(/\s+/g, " ").trim() : ""; }

    /* Colour stops of a CSS linear-gradient as [[colour, 0..1]]. */
    function stops(css) {
        var out = [], re = /(rgba?\([^)]*\)|#[0-9a-fA-F]{3,8})\s*([\d.]+)?%?/g, m;
        while ((m = re.exec(css || "")) !== null) {
            out.push([m[1], m[2] === undefined ? null : parseFloat(m[2]) / 100]);
        }
        return out.map(function (s, i) {
            return [s[0], s[1] === null ? i / Math.max(1, out.length - 1) : s[1]];
        });
    }

    /* The legend as a list of drawable items, read from the box on screen. */
    function items(root) {
        var out = [];
        Array.prototype.forEach.call(root.querySelectorAll(".om-legend-block"), function (b) {
            out.push({kind: "title", text: text(b.querySelector(".om-legend-title"))});
            Array.prototype.forEach.call(b.querySelectorAll(".om-legend-row"), function (r) {
                var sw = r.querySelector(".om-swatch"), cs = sw ? getComputedStyle(sw) : null;
                var shape = !sw ? "area" : /triangle/.test(sw.className) ? "triangle"
                    : /point/.test(sw.className) ? "point" : /line/.test(sw.className) ? "line"
                    : "area";
                out.push({kind: "row", shape: shape, text: text(r),
                          color: cs ? (shape === "triangle" ? cs.borderBottomColor : cs.backgroundColor) : "#999",
                          edge: cs && parseFloat(cs.borderTopWidth) > 0 ? cs.borderTopColor : null,
                          dashed: cs ? cs.borderTopStyle === "dashed" : false});
            });
            var ramp = b.querySelector(".om-ramp");
            if (ramp) {
                var labels = b.querySelectorAll(".om-ramp-labels span");
                out.push({kind: "note", text: text(b.querySelector(".om-ramp-name"))});
                out.push({kind: "ramp", stops: stops(getComputedStyle(ramp).backgroundImage),
                          lo: text(labels[0]), hi: text(labels[labels.length - 1])});
            }
            var bands = b.querySelector(".om-legend-bands");
            if (bands) { out.push({kind: "note", text: text(bands)}); }
        });
        return out;
    }

    function height(item) { return item.kind === "ramp" ? 2 * ROW : ROW; }

    function swatch(ctx, it, x, y) {
        ctx.fillStyle = it.color;
        ctx.strokeStyle = it.edge || "#333";
        ctx.lineWidth = 1;
        ctx.setLineDash(it.dashed ? [3, 2] : []);
        ctx.beginPath();
        if (it.shape === "point") {
            ctx.arc(x + SW / 2, y, SW / 2 - 1, 0, 2 * Math.PI);
            ctx.fill();
            ctx.stroke();
        } else if (it.shape === "triangle") {
            ctx.moveTo(x + SW / 2, y - SW / 2);
            ctx.lineTo(x + SW, y + SW / 2);
            ctx.lineTo(x, y + SW / 2);
            ctx.closePath();
            ctx.fill();
        } else if (it.shape === "line") {
            ctx.fillRect(x, y - 1.5, SW, 3);
        } else {
            ctx.rect(x, y - SW / 2, SW, SW);
            ctx.fill();
            if (it.edge) { ctx.stroke(); }
        }
        ctx.setLineDash([]);
    }

    function ramp(ctx, it, x, y) {
        var g = ctx.createLinearGradient(x, 0, x + RAMP_W, 0);
        it.stops.forEach(function (s) { g.addColorStop(Math.min(1, Math.max(0, s[1])), s[0]); });
        ctx.fillStyle = g;
        ctx.fillRect(x, y - ROW / 2 + 2, RAMP_W, 10);
        ctx.strokeStyle = "rgba(0,0,0,0.3)";
        ctx.strokeRect(x, y - ROW / 2 + 2, RAMP_W, 10);
        ctx.fillStyle = "#546E7A";
        ctx.textAlign = "left";
        ctx.fillText(it.lo, x, y + ROW);
        ctx.textAlign = "right";
        ctx.fillText(it.hi, x + RAMP_W, y + ROW);
        ctx.textAlign = "left";
    }

    function box(ctx, x, y, w, h) {
        ctx.fillStyle = "rgba(255,255,255,0.92)";
        ctx.strokeStyle = "rgba(0,0,0,0.25)";
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.roundRect(x, y, w, h, 4);
        ctx.fill();
        ctx.stroke();
    }

    /* Draw the legend; `o` is the map container's page rectangle, `W`×`H` the canvas (CSS px).
       Returns the legend's rectangle on the canvas ([x, y, w, h]) or null without a legend. */
    function drawLegend(ctx, o, W, H) {
        var root = document.getElementById("om-legend");
        var list = root ? items(root) : [];
        if (!list.length) { return null; }
        ctx.font = "12px " + FONT;
        ctx.textBaseline = "middle";
        var heading = text(root.querySelector(".om-legend-heading"));
        var widths = list.map(function (it) {
            var w = ctx.measureText(it.text || "").width;
            return it.kind === "row" ? SW + GAP + w : it.kind === "ramp" ? RAMP_W : w;
        });
        var colW = Math.ceil(Math.max.apply(null, widths.concat([ctx.measureText(heading).width])));
        // Columns of at most the canvas height; a block title never ends a column.
        var maxH = H - 2 * PAD - 20 - ROW, cols = [[]], used = 0;
        list.forEach(function (it, i) {
            var h = height(it), last = i + 1 < list.length && it.kind === "title";
            if (used + h + (last ? ROW : 0) > maxH && cols[cols.length - 1].length) {
                cols.push([]);
                used = 0;
            }
            cols[cols.length - 1].push(it);
            used += h;
        });
        var tall = Math.max.apply(null, cols.map(function (c) {
            return c.reduce(function (s, it) { return s + height(it); }, 0);
        }));
        var w = cols.length * (colW + 2 * PAD), h = tall + ROW + 2 * PAD;
        var r = root.getBoundingClientRect();
        var right = r.width ? Math.min(W - 10, r.right - o.left) : W - 10;
        var bottom = r.height ? Math.min(H - 10, r.bottom - o.top) : H - 10;
        var x0 = Math.max(0, right - w), y0 = Math.max(0, bottom - h);
        box(ctx, x0, y0, w, h);
        ctx.fillStyle = "#263238";
        ctx.font = "bold 13px " + FONT;
        ctx.fillText(heading, x0 + PAD, y0 + PAD + ROW / 2);
        cols.forEach(function (col, c) {
            var x = x0 + PAD + c * (colW + 2 * PAD), y = y0 + PAD + ROW + ROW / 2;
            col.forEach(function (it) {
                ctx.font = (it.kind === "title" ? "bold " : "") + "12px " + FONT;
                if (it.kind === "row") {
                    swatch(ctx, it, x, y);
                    ctx.fillStyle = "#263238";
                    ctx.fillText(it.text, x + SW + GAP, y);
                } else if (it.kind === "ramp") {
                    ramp(ctx, it, x, y);
                } else {
                    ctx.fillStyle = it.kind === "title" ? "#37474F" : "#546E7A";
                    ctx.fillText(it.text, x, y);
                }
                y += height(it);
            });
        });
        return [x0, y0, w, h];
    }

    /* The caption: the map's title and the time the map shows (the time bar's label). */
    function drawCaption(ctx) {
        var title = text(document.getElementById("om-title"));
        var when = text(document.getElementById("om-tb-label"));
        if (!title && !when) { return null; }
        ctx.textBaseline = "middle";
        ctx.font = "bold 14px " + FONT;
        var w = ctx.measureText(title).width;
        ctx.font = "12px " + FONT;
        w = Math.ceil(Math.max(w, ctx.measureText(when).width)) + 2 * PAD;
        var h = (when ? 2 : 1) * ROW + 2 * PAD;
        box(ctx, 10, 10, w, h);
        ctx.fillStyle = "#1B5E20";
        ctx.font = "bold 14px " + FONT;
        ctx.fillText(title, 10 + PAD, 10 + PAD + ROW / 2);
        if (when) {
            ctx.fillStyle = "#37474F";
            ctx.font = "12px " + FONT;
            ctx.fillText(when, 10 + PAD, 10 + PAD + ROW * 1.5);
        }
        return [10, 10, w, h];
    }

    window.onemap = Object.assign(window.onemap || {}, {
        exportDecor: {legend: drawLegend, caption: drawCaption}
    });
}());
