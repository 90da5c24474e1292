/* The Air panel's map symbols (onemap/app/panels/haze.py): upwind sources sized by their share,
   in the panel's own pane, with a tooltip the panel wrote in the page's language. */
(function () {
    "use strict";
    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        onemap_haze: {
            source: function (feature, latlng, context) {
                var share = Number((feature.properties || {}).contribution_share) || 0;
                return L.circleMarker(latlng, {
                    pane: context && context.pane, radius: 5 + 30 * Math.sqrt(share),
                    color: "#4A148C", weight: 1.5, fillColor: "#AB47BC", fillOpacity: 0.55,
                    className: "om-hz-source"
                });
            },
            tooltip: function (feature, layer) {
                var tip = (feature.properties || {})._tip;
                if (tip) { layer.bindTooltip(String(tip), {sticky: true}); }
            }
        }
    });
}());
