/* Per-view loading of big vector layers (see onemap/app/viewload.py). */
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

    function viewUrls(bounds, zoom, hideouts) {
        var urls = [], data = [];
        (hideouts || []).forEach(function (h) {
            var v = (h && h.view) || {};
            if (!bounds || zoom === undefined || zoom === null || zoom < (v.min_zoom || 0) || !v.url) {
                urls.push(null);
                data.push(EMPTY);
            } else {
                urls.push(v.url + "&bbox=" + bboxParam(bounds));
                data.push(null);
            }
        });
        return [urls, data];
    }

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        onemap_viewload: {viewUrls: viewUrls, bboxParam: bboxParam}
    });
}());
