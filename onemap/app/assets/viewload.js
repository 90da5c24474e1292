/* Big vector layers, per view (see onemap/app/viewload.py): from the layer's minimum zoom the
   features of the view (OGC API items with bbox=), below it their counts on a grid
   (/api/clusters/{id}?bbox=&zoom=), drawn as bubbles that zoom in when clicked. */
(function () {
    "use strict";
    var EMPTY = {type: "FeatureCollection", features: []};

    /* [[south, west], [north, east]] → "minx,miny,maxx,maxy", rounded outwards to ~100 m so a
       small pan inside the same rounded box does not refetch. */
    function bboxParam(bounds) {
        var f = 1000;
        var w = Math.floor(bounds[0][1] * f) / f, s = Math.floor(bounds[0][0] * f) / f;
        var e = Math.ceil(bounds[1][1] * f) / f, n = Math.ceil(bounds[1][0] * f) / f;
        return [Math.max(w, -180), Math.max(s, -90), Math.min(e, 180), Math.min(n, 90)].join(",");
    }

    /* The map's bounds before its first move (dash-leaflet reports `bounds` only on moveend):
       from the centre, the zoom and the container's size in Web Mercator. */
    function initialBounds(center, zoom) {
        var el = document.getElementById("om-map");
        if (!center || zoom === undefined || zoom === null || !el) { return null; }
        var lat = center.lat !== undefined ? center.lat : center[0];
        var lng = center.lng !== undefined ? center.lng : center[1];
        var scale = 256 * Math.pow(2, zoom);
        var x = (lng + 180) / 360 * scale;
        var s = Math.sin(lat * Math.PI / 180);
        var y = (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * scale;
        var toLat = function (py) {
            var n = Math.PI - 2 * Math.PI * py / scale;
            return 180 / Math.PI * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n)));
        };
        var w = el.clientWidth / 2, h = el.clientHeight / 2;
        return [[toLat(y + h), (x - w) / scale * 360 - 180], [toLat(y - h), (x + w) / scale * 360 - 180]];
    }

    function viewUrls(bounds, zoom, center, hideouts) {
        var urls = [], data = [];
        bounds = bounds || initialBounds(center, zoom);
        (hideouts || []).forEach(function (h) {
            var v = (h && h.view) || {};
            if (!bounds || zoom === undefined || zoom === null || !v.url) {
                urls.push(null);
                data.push(EMPTY);
            } else if (zoom >= (v.min_zoom || 0)) {
                urls.push(v.url + "&bbox=" + bboxParam(bounds));
                data.push(null);
            } else if (v.clusters) {
                urls.push(v.clusters + "?bbox=" + bboxParam(bounds) + "&zoom=" + Math.round(zoom));
                data.push(null);
            } else {
                urls.push(null);
                data.push(EMPTY);
            }
        });
        return [urls, data];
    }

    function abbreviate(n) {
        return n >= 1e6 ? (n / 1e6).toFixed(1) + "M" : n >= 1e4 ? Math.round(n / 1e3) + "k"
            : n >= 1e3 ? (n / 1e3).toFixed(1) + "k" : String(n);
    }

    function isCount(feature) {
        return feature && feature.properties && feature.properties.count !== undefined &&
            feature.properties.bbox !== undefined;
    }

    /* A grid cell's count as a bubble (the same look as the browser-side clusters). */
    function viewPoint(feature, latlng, context) {
        if (!isCount(feature)) { return window.onemap.pointToLayer(feature, latlng, context); }
        var n = feature.properties.count;
        var size = n < 10 ? 28 : n < 100 ? 34 : n < 1000 ? 42 : 50;
        var color = (context.hideout && context.hideout.cluster_color) || "#455A64";
        var html = '<div style="background:' + color + '"><span>' + abbreviate(n) +
            "</span></div>";
        return L.marker(latlng, {
            pane: context.pane,
            title: String(((context.hideout || {}).view || {}).title || "").replace("{count}", n),
            icon: L.divIcon({html: html, className: "om-cluster om-grid-count",
                             iconSize: L.point(size, size)})
        });
    }

    /* A bubble zooms to its features' extent; a feature gets the usual popup. */
    function viewEach(feature, layer, context) {
        if (!isCount(feature)) { return window.onemap.onEachFeature(feature, layer, context); }
        var b = feature.properties.bbox;
        layer.on("click", function (e) {
            var map = e.target._map;
            if (!map) { return; }
            var bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
            var zoom = Math.min(map.getBoundsZoom(bounds), map.getZoom() + 3);
            map.setView(bounds.getCenter(), Math.max(zoom, map.getZoom() + 1));
        });
    }

    window.onemap = Object.assign(window.onemap || {}, {viewPoint: viewPoint, viewEach: viewEach});
    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        onemap_viewload: {viewUrls: viewUrls, bboxParam: bboxParam}
    });
}());
