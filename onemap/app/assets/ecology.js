/*
 * Drawing functions of the Ecology panel's map pane (onemap/app/panels/ecology.py), referenced
 * from dash-leaflet as {variable: "dash_clientside.onemap_eco.<name>"}.
 *
 * The panel sends finished GeoJSON: every feature already carries its tooltip in the page's
 * language (`_tip`) and areas that lost vegetation are flagged (`_hit`), so these functions only
 * choose colours. Loss patches are a saturated red with a dark edge so they stand out from the
 * red-line layer's pale red fill underneath; affected areas get a bold amber outline.
 */
(function () {
    "use strict";

    var LOSS = {color: "#7F0000", weight: 2, opacity: 1, fillColor: "#FF1A1A", fillOpacity: 0.8,
                className: "om-eco-loss"};
    var HIT = {color: "#FF6F00", weight: 3.5, opacity: 1, fill: false, dashArray: null,
               className: "om-eco-area om-eco-area-hit"};
    var AREA = {color: "#37474F", weight: 1, opacity: 0.8, fill: false, dashArray: "3 3",
                className: "om-eco-area"};
    var POINTS = {
        pollution_source: {radius: 4, color: "#3E2723", weight: 1, fillColor: "#8D6E63",
                           fillOpacity: 0.9},
        incident: {radius: 7, color: "#000", weight: 1.5, fillColor: "#FFD600", fillOpacity: 1}
    };

    function props(feature) { return (feature && feature.properties) || {}; }

    var eco = {
        areaStyle: function (feature) {
            var p = props(feature);
            var s = Object.assign({}, p._hit ? HIT : AREA);
            // One class per area so a test (or a person with devtools) can find its outline.
            s.className += " om-eco-area-" + String(p.area_id || "").replace(/[^A-Za-z0-9_-]/g, "_");
            return s;
        },
        lossStyle: function () { return Object.assign({}, LOSS); },
        point: function (feature, latlng, context) {
            var p = props(feature);
            var s = Object.assign({className: "om-eco-point om-eco-" + p.kind},
                                  POINTS[p.kind] || POINTS.pollution_source);
            // In the panel's own pane, above the data layers (Leaflet would use overlayPane).
            if (context && context.pane) { s.pane = context.pane; }
            return L.circleMarker(latlng, s);
        },
        tooltip: function (feature, layer) {
            var tip = props(feature)._tip;
            if (tip) { layer.bindTooltip(String(tip), {sticky: true, className: "om-eco-tip"}); }
        }
    };

    window.dash_clientside = Object.assign({}, window.dash_clientside, {onemap_eco: eco});
}());
