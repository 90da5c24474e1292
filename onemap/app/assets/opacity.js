/* Vector layers' opacity, set by the range inputs in the legend: the layer's Leaflet pane gets a
   CSS opacity (its SVG paths and marker icons fade together), remembered in om-vector-opacity so
   a redrawn legend shows the same value. The pane element is styled directly: dash-leaflet's
   Pane applies its `style` only when it is created, and panes live as long as the page. */
(function () {
    "use strict";
    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        onemap_opacity: {
            vectorOpacity: function (values, stored) {
                var ctx = window.dash_clientside.callback_context;
                var next = Object.assign({}, stored || {});
                ctx.inputs_list[0].forEach(function (inp, i) {
                    var v = Number(values[i]);
                    if (!isFinite(v)) { return; }
                    var lid = inp.id.layer;
                    next[lid] = Math.max(0, Math.min(100, v));
                    var pane = document.querySelector(".leaflet-om-" + lid + "-pane");
                    if (pane) { pane.style.opacity = String(next[lid] / 100); }
                });
                return next;
            }
        }
    });
}());
