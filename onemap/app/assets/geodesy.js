/* Geodesy on the WGS84 ellipsoid for the measure tools (tools.js): lengths by Vincenty's inverse
 * formula, areas on the authalic sphere (same surface as the ellipsoid) with the exact spherical
 * excess of each edge. The map's Web Mercator plane would overstate both by 1/cos²(lat) (about
 * 38 % at 32°N). tests/app/test_tools.py checks both against pyproj's Geod. */
(function () {
    "use strict";

    var A = 6378137, F = 1 / 298.257223563, B = A * (1 - F), RAD = Math.PI / 180;
    var E2 = F * (2 - F), E = Math.sqrt(E2);

    function haversine(a, b) {
        var dLat = (b.lat - a.lat) * RAD, dLon = (b.lng - a.lng) * RAD;
        var h = Math.pow(Math.sin(dLat / 2), 2) +
            Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.pow(Math.sin(dLon / 2), 2);
        return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
    }

    /* Vincenty (1975) inverse: metres between two lat/lngs on the ellipsoid (sub-mm); the
       haversine on the mean sphere where it does not converge (nearly antipodal points). */
    function distance(a, b) {
        var L = (b.lng - a.lng) * RAD;
        var U1 = Math.atan((1 - F) * Math.tan(a.lat * RAD)), U2 = Math.atan((1 - F) * Math.tan(b.lat * RAD));
        var sinU1 = Math.sin(U1), cosU1 = Math.cos(U1), sinU2 = Math.sin(U2), cosU2 = Math.cos(U2);
        var lambda = L, prev, iter = 200, sinS, cosS, sigma, cos2A, cos2M;
        do {
            var sinL = Math.sin(lambda), cosL = Math.cos(lambda);
            sinS = Math.sqrt(Math.pow(cosU2 * sinL, 2) + Math.pow(cosU1 * sinU2 - sinU1 * cosU2 * cosL, 2));
            if (sinS === 0) { return 0; }
            cosS = sinU1 * sinU2 + cosU1 * cosU2 * cosL;
            sigma = Math.atan2(sinS, cosS);
            var sinAlpha = cosU1 * cosU2 * sinL / sinS;
            cos2A = 1 - sinAlpha * sinAlpha;
            cos2M = cos2A !== 0 ? cosS - 2 * sinU1 * sinU2 / cos2A : 0;
            var C = F / 16 * cos2A * (4 + F * (4 - 3 * cos2A));
            prev = lambda;
            lambda = L + (1 - C) * F * sinAlpha *
                (sigma + C * sinS * (cos2M + C * cosS * (-1 + 2 * cos2M * cos2M)));
        } while (Math.abs(lambda - prev) > 1e-12 && --iter > 0);
        if (iter === 0) { return haversine(a, b); }
        var u2 = cos2A * (A * A - B * B) / (B * B);
        var AA = 1 + u2 / 16384 * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)));
        var BB = u2 / 1024 * (256 + u2 * (-128 + u2 * (74 - 47 * u2)));
        var dS = BB * sinS * (cos2M + BB / 4 * (cosS * (-1 + 2 * cos2M * cos2M) -
            BB / 6 * cos2M * (-3 + 4 * sinS * sinS) * (-3 + 4 * cos2M * cos2M)));
        return B * AA * (sigma - dS);
    }

    function pathLength(pts, closed) {
        var total = 0;
        for (var i = 1; i < pts.length; i++) { total += distance(pts[i - 1], pts[i]); }
        if (closed && pts.length > 2) { total += distance(pts[pts.length - 1], pts[0]); }
        return total;
    }

    function q(phi) {  // the authalic "q" of the ellipsoid at geodetic latitude phi
        var s = Math.sin(phi);
        return (1 - E2) * (s / (1 - E2 * s * s) - Math.log((1 - E * s) / (1 + E * s)) / (2 * E));
    }
    var QP = q(Math.PI / 2), RQ = A * Math.sqrt(QP / 2);

    /* Square metres inside a ring of lat/lngs (great-circle edges on the authalic sphere). */
    function area(pts) {
        if (pts.length < 3) { return 0; }
        var total = 0;
        for (var i = 0; i < pts.length; i++) {
            var p = pts[i], n = pts[(i + 1) % pts.length];
            var t1 = Math.tan(Math.asin(q(p.lat * RAD) / QP) / 2);
            var t2 = Math.tan(Math.asin(q(n.lat * RAD) / QP) / 2);
            var dl = (n.lng - p.lng) * RAD;
            dl = Math.atan2(Math.sin(dl), Math.cos(dl));  // into (-pi, pi]
            total += 2 * Math.atan2(Math.tan(dl / 2) * (t1 + t2), 1 + t1 * t2);
        }
        return Math.abs(total) * RQ * RQ;
    }

    window.onemap_geodesy = {distance: distance, pathLength: pathLength, area: area};
}());
