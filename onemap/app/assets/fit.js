/* Fitting a place into the part of the map nobody covers.
 *
 * On a desktop the layer list (left), the dock (right), the time bar and the legend (bottom)
 * float over the map; a result fitted to the whole map lands partly under them. On a phone the
 * sheets sit below the map, which is then all free. So "show me on the map" (onemap/app/goto.py)
 * asks Leaflet's fitBounds with `omUncovered: true`, and here that becomes the padding of the
 * panels that overlap the map right now, measured in the page, whatever the screen.
 */
(function () {
    "use strict";

    var COVERS = ["#om-panel", "#om-dock-root", "#om-timebar", "#om-legend", "#om-live"];
    var MARGIN = 24;

    function shown(el) {
        return !!el && el.offsetParent !== null && getComputedStyle(el).visibility !== "hidden";
    }

    /* [left, top, right, bottom] in px covered by the floating panels along each side. */
    function covered(map) {
        var box = map.getContainer().getBoundingClientRect();
        var pad = [0, 0, 0, 0];
        var cx = box.left + box.width / 2, cy = box.top + box.height / 2;
        COVERS.forEach(function (sel) {
            var el = document.querySelector(sel);
            if (!shown(el)) { return; }
            var r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0 || r.right <= box.left || r.left >= box.right ||
                    r.bottom <= box.top || r.top >= box.bottom) { return; }
            if (r.width >= 0.6 * box.width) {  /* a bar across: top or bottom */
                if (r.top > cy) { pad[3] = Math.max(pad[3], box.bottom - r.top); }
                else { pad[1] = Math.max(pad[1], r.bottom - box.top); }
            } else if (r.right < cx) {
                pad[0] = Math.max(pad[0], r.right - box.left);
            } else if (r.left > cx) {
                pad[2] = Math.max(pad[2], box.right - r.left);
            } else if (r.top > cy) {
                pad[3] = Math.max(pad[3], box.bottom - r.top);
            }
        });
        /* never leave less than a third of the map: fall back to a plain margin */
        if (box.width - pad[0] - pad[2] < box.width / 3) { pad[0] = pad[2] = 0; }
        if (box.height - pad[1] - pad[3] < box.height / 3) { pad[1] = pad[3] = 0; }
        return pad;
    }

    if (!(window.L && L.Map)) { return; }
    var fitBounds = L.Map.prototype.fitBounds;
    L.Map.prototype.fitBounds = function (bounds, options) {
        if (!options || !options.omUncovered) { return fitBounds.call(this, bounds, options); }
        var pad = covered(this);
        var o = L.extend({}, options);
        delete o.omUncovered;
        delete o.padding;
        o.paddingTopLeft = [pad[0] + MARGIN, pad[1] + MARGIN];
        o.paddingBottomRight = [pad[2] + MARGIN, pad[3] + MARGIN];
        return fitBounds.call(this, bounds, o);
    };
}());
