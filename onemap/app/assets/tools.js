/* Map tools that live in Leaflet itself (see onemap/app/tools.py): the coordinates under the
 * cursor, in a small control next to the scale bar. The map is reached through Leaflet's init
 * hook (dash-leaflet does not expose it); the control is plain DOM, so it costs no Dash round
 * trip per mouse move. Words follow <html lang> (set by assets/lang.js on a language switch). */
(function () {
    "use strict";

    function format(latlng) {
        var lon = latlng.lng, lat = latlng.lat;
        var ew = lon >= 0, ns = lat >= 0;
        var x = Math.abs(lon).toFixed(5), y = Math.abs(lat).toFixed(5);
        if (document.documentElement.lang === "en") {
            return x + "°" + (ew ? "E" : "W") + ", " + y + "°" + (ns ? "N" : "S");
        }
        return (ew ? "东经 " : "西经 ") + x + "°，" + (ns ? "北纬 " : "南纬 ") + y + "°";
    }

    function addCoordinates(map) {
        var Coords = L.Control.extend({
            options: {position: "bottomleft"},
            onAdd: function () {
                var div = L.DomUtil.create("div", "om-coords");
                div.id = "om-coords";
                div.style.display = "none";
                return div;
            }
        });
        var control = new Coords();
        map.addControl(control);
        var el = control.getContainer();
        map.on("mousemove", function (e) {
            el.textContent = format(e.latlng);
            el.style.display = "block";
        });
        map.on("mouseout", function () { el.style.display = "none"; });
    }

    if (window.L && L.Map && L.Map.addInitHook) {
        L.Map.addInitHook(function () {
            var map = this;
            map.whenReady(function () {
                if (map.getContainer().id === "om-map") { addCoordinates(map); }
            });
        });
    }
    window.onemap = Object.assign(window.onemap || {}, {formatCoordinates: format});
}());
