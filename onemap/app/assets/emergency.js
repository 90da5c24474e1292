/*
 * Drawing functions of the Emergency panel's map pane (onemap/app/panels/emergency.py),
 * referenced from dash-leaflet as {variable: "dash_clientside.onemap_em.<name>"}.
 *
 * The panel sends finished GeoJSON: every feature carries its kind (`_kind`), its colour
 * (`_color`, the same value the panel's legend shows) and its tooltip in the page's language
 * (`_tip`), so these functions only choose shapes and weights. Every path gets a class
 * `om-em-<kind>` so a test (or a person with devtools) can count what is drawn.
 */
(function () {
    "use strict";

    function props(feature) { return (feature && feature.properties) || {}; }
    // Points made here would land in Leaflet's overlay pane: keep them in the panel's own.
    function pane(context) { return (context && context.pane) || "om-em"; }

    var POINTS = {
        intake: {radius: 8, weight: 3, fillColor: "#ffffff", fillOpacity: 1},
        section: {radius: 6, weight: 2, fillOpacity: 0.9},
        suspect: {radius: 5, weight: 1.5, fillOpacity: 0.85},
        receptor: {radius: 4, weight: 1, fillOpacity: 0.9}
    };

    var em = {
        areaStyle: function (feature) {
            var p = props(feature);
            if (p._kind === "ring") {
                // Rings only frame the view: no fill, no pointer events (see emergency.css), so
                // the features under them stay clickable.
                return {color: p._color, weight: 1.5, opacity: 0.9, dashArray: "6 4", fill: false,
                        className: "om-em-ring"};
            }
            return {color: p._color, weight: 1, opacity: 1, fillColor: p._color, fillOpacity: 0.5,
                    className: "om-em-plume om-em-plume-" + String(p._level || "")
                        .replace(/[^A-Za-z0-9_-]/g, "_")};
        },
        traceStyle: function (feature) {
            var p = props(feature);
            return {color: p._color, weight: p._lake ? 3 : 5, opacity: 0.9,
                    dashArray: p._lake ? "8 6" : null, lineCap: "round",
                    className: "om-em-trace" + (p._lake ? " om-em-trace-lake" : "")};
        },
        point: function (feature, latlng, context) {
            var p = props(feature);
            var s = Object.assign({color: p._color, fillColor: p._color, pane: pane(context),
                                   className: "om-em-" + p._kind}, POINTS[p._kind] || POINTS.receptor);
            if (p._kind === "intake") { s.fillColor = "#ffffff"; }
            return L.circleMarker(latlng, s);
        },
        location: function (feature, latlng, context) {
            return L.circleMarker(latlng, {radius: 9, weight: 3, color: "#ffffff", opacity: 1,
                                           pane: pane(context),
                                           fillColor: "#D50000", fillOpacity: 1,
                                           className: "om-em-location"});
        },
        tooltip: function (feature, layer) {
            var tip = props(feature)._tip;
            if (tip && props(feature)._kind !== "ring") {
                layer.bindTooltip(String(tip), {sticky: true, className: "om-em-tip"});
            }
        }
    };

    window.dash_clientside = Object.assign({}, window.dash_clientside, {onemap_em: em});

    /* Map clicks. Leaflet sends "click" to the map only when no layer listens for it, and the
     * county polygons (and rivers, stations...) under everything do, so Input("om-map",
     * "clickData") misses most of the region. "preclick" always reaches the map: while the
     * Emergency tab is open it is passed to the panel through the store "em-click". The hook
     * is installed when this script runs — after dash-leaflet's bundle (which defines L) and
     * before React creates the map. */
    function panelOpen() {
        var body = document.querySelector(".om-tab-body[data-panel=emergency]");
        return !!body && body.style.display !== "none";
    }

    function onPreclick(e) {
        var set = window.dash_clientside && window.dash_clientside.set_props;
        if (!set || !panelOpen() || !e.latlng) { return; }
        var ll = e.latlng.wrap();
        set("em-click", {data: {lat: ll.lat, lng: ll.lng, at: Date.now()}});
    }

    if (window.L && L.Map && L.Map.addInitHook) {
        L.Map.addInitHook(function () {
            var map = this;
            map.whenReady(function () {
                if (map.getContainer().id === "om-map") { map.on("preclick", onPreclick); }
            });
        });
    }
}());
