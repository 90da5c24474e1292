/*
 * Big vector layers from the server's vector tiles (see onemap/app/layers.py tile_component).
 *
 * A layer with more features than the map ships whole is an empty dash-leaflet GeoJSON carrying
 * its hideout; a clientside callback on the panes' children (sync) keeps a Leaflet.VectorGrid
 * (canvas renderer) on the map for each such component in its pane, drawing
 * /ogc/collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x} into the layer's own pane.
 * Each tile holds either every feature centred in it (the layer `<id>`, drawn with the layer's
 * symbology from hideout.style) or, where that would be too many, their counts on a 16 × 16
 * grid (the layer `<id>_clusters`: count, extent, cell): those are drawn as the usual count
 * bubbles, merged 4 × 4 into 64-pixel cells, a click zooming to the cell's features. Nothing
 * is dropped: a tile's bubbles add up to all of its features.
 *
 * A feature carries only its key, name and class; a click reads it whole from the OGC API
 * (items/{id}, with the page's session cookie) and opens the same popup as any layer's.
 * Leaflet.VectorGrid itself (npm leaflet.vectorgrid 1.3.0, package.json) is served by our
 * server (/static/vendor/leaflet.vectorgrid/) and loaded when a big layer is first shown.
 */
(function () {
    "use strict";

    var MERGE = 4;              /* 16-px cells of a tile merged 4 × 4: 64-px bubbles */
    var loading = {};           /* script URL -> promise */
    var grids = {};             /* layer id -> the VectorGrid on the map */
    var Grid = null, TileCanvas = null;

    /* Leaflet.VectorGrid, loaded once; its canvas tiles' click handler made Leaflet 1.9's:
       1.3.0 calls L.DomEvent.fakeStop, which Leaflet 1.8 removed (the plugin's fix came after
       its last release), and Leaflet 1.9's canvas lets the map see a click on no feature. */
    function plugin(src) {
        if (Grid) { return Promise.resolve(); }
        if (!loading[src]) {
            loading[src] = new Promise(function (resolve, reject) {
                var el = document.createElement("script");
                el.src = src;
                el.onload = function () {
                    if (!(L.VectorGrid && L.VectorGrid.Protobuf && L.Canvas.Tile)) {
                        reject(new Error("Leaflet.VectorGrid did not load"));
                        return;
                    }
                    define();
                    resolve();
                };
                el.onerror = function () {
                    delete loading[src];
                    reject(new Error("cannot load " + src));
                };
                document.head.appendChild(el);
            });
        }
        return loading[src];
    }

    function define() {
        TileCanvas = L.Canvas.Tile.extend({
            _onClick: function (e) {
                if (!this._map) { return; }
                var point = this._map.mouseEventToLayerPoint(e).subtract(this.getOffset());
                var hit = null;
                for (var id in this._layers) {
                    var layer = this._layers[id];
                    if (layer.options.interactive && layer._containsPoint(point) &&
                            !(e.type === "click" && this._map._draggableMoved(layer))) {
                        hit = layer;
                    }
                }
                this._fireEvent(hit ? [hit] : false, e);
            }
        });
        Grid = L.VectorGrid.Protobuf.extend({
            initialize: function (url, options) {
                L.VectorGrid.Protobuf.prototype.initialize.call(this, url, options);
                this._bubbles = {};     /* tile key -> L.layerGroup of its count bubbles */
                this._counts = {};      /* tile key -> {content, count} */
                this.on("tileunload", function (e) {
                    var key = this._tileCoordsToKey(e.coords);
                    if (this._bubbles[key]) { this._bubbles[key].remove(); }
                    delete this._bubbles[key];
                    delete this._counts[key];
                }, this);
            },
            onRemove: function (map) {
                Object.keys(this._bubbles).forEach(function (k) { this._bubbles[k].remove(); }, this);
                this._bubbles = {};
                this._counts = {};
                L.VectorGrid.Protobuf.prototype.onRemove.call(this, map);
            },
            /* The tile as the plugin reads it, its grid counts taken out and drawn as bubbles. */
            _getVectorTilePromise: function (coords) {
                var self = this, key = this._tileCoordsToKey(coords);
                var name = this.options.omLayer, cells = name + "_clusters";
                return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, coords)
                    .then(function (tile) {
                        var grid = tile.layers[cells], own = tile.layers[name];
                        delete tile.layers[cells];
                        if (self._map && self._tiles[key]) {
                            self._counts[key] = {
                                features: own ? own.features.length : 0,
                                counted: grid ? self._drawCells(key, coords, grid) : 0};
                        }
                        return tile;
                    });
            },
            _drawCells: function (key, coords, grid) {
                var merged = {}, total = 0;
                grid.features.forEach(function (f) {
                    var p = f.properties, rc = String(p.cell).split("/");
                    var k = Math.floor(Number(rc[1]) / MERGE) + "/" + Math.floor(Number(rc[2]) / MERGE);
                    var pt = f.geometry[0][0], n = Number(p.count);
                    var m = merged[k] || (merged[k] = {n: 0, x: 0, y: 0, w: 180, s: 90, e: -180, no: -90});
                    m.n += n;
                    m.x += pt.x * n;
                    m.y += pt.y * n;
                    m.w = Math.min(m.w, p.minx);
                    m.s = Math.min(m.s, p.miny);
                    m.e = Math.max(m.e, p.maxx);
                    m.no = Math.max(m.no, p.maxy);
                });
                var size = this.getTileSize(), scale = size.x / grid.extent, group = L.layerGroup();
                Object.keys(merged).forEach(function (k) {
                    var m = merged[k];
                    var px = L.point(coords.x * size.x + m.x / m.n * scale,
                                     coords.y * size.y + m.y / m.n * scale);
                    group.addLayer(bubble(this._map.unproject(px, coords.z), m, this.options));
                    total += m.n;
                }, this);
                this._bubbles[key] = group.addTo(this._map);
                return total;
            },
            _createLayer: function (feat, pxPerExtent) {
                var layer = L.VectorGrid.prototype._createLayer.call(this, feat, pxPerExtent);
                layer.omId = feat.id;
                /* A point symbolizer is a CircleMarker without a latlng: Leaflet 1.9 would read
                   a click's position from it (and fail); from the mouse, as for a path. */
                if (feat.type === 1) { layer.getLatLng = null; }
                return layer;
            }
        });
    }

    function abbreviate(n) {
        return n >= 1e6 ? (n / 1e6).toFixed(1) + "M" : n >= 1e4 ? Math.round(n / 1e3) + "k"
            : n >= 1e3 ? (n / 1e3).toFixed(1) + "k" : String(n);
    }

    /* A cell's count as a bubble (the look of the browser-side clusters); a click zooms to the
       extent of the features it counts. */
    function bubble(latlng, m, options) {
        var n = m.n, size = n < 10 ? 28 : n < 100 ? 34 : n < 1000 ? 42 : 50;
        var html = '<div style="background:' + window.onemap.util.esc(options.omColor) +
            '"><span>' + abbreviate(n) + "</span></div>";
        var marker = L.marker(latlng, {
            pane: options.pane, title: String(options.omTitle || "").replace("{count}", n),
            icon: L.divIcon({html: html, className: "om-cluster om-grid-count",
                             iconSize: L.point(size, size)})
        });
        marker.omCount = n;
        marker.omBounds = [m.w, m.s, m.e, m.no];
        marker.on("click", function () {
            var map = marker._map;
            if (!map) { return; }
            var bounds = L.latLngBounds([m.s, m.w], [m.no, m.e]);
            var zoom = Math.min(map.getBoundsZoom(bounds), map.getZoom() + 3);
            map.setView(bounds.getCenter(), Math.max(zoom, map.getZoom() + 1));
        });
        return marker;
    }

    /* The symbology of the layer's features: the same path options as a GeoJSON layer's. */
    function featureStyle(h) {
        return function (props) {
            var o = window.onemap.pathOptions({properties: props}, {hideout: h});
            o.radius = (h.style && h.style.radius) || 6;
            o.fill = o.fill === undefined ? true : o.fill;
            return o;
        };
    }

    function readFeature(t, id) {
        return fetch(t.item + encodeURIComponent(id) + "?f=json", {
            credentials: "same-origin", headers: {"Accept": "application/geo+json"}
        }).then(function (r) {
            if (!r.ok) { throw new Error("HTTP " + r.status); }
            return r.json();
        });
    }

    /* A click on a feature: read it whole by its OGC id (the family key, else the fid) and open
       its popup where it is (a point) or where clicked. */
    function clicked(e, grid, h) {
        var f = e.layer || e.propagatedFrom, t = h.tiles;
        if (!f || !grid._map) { return; }
        var key = h.popup && h.popup.key_field;
        var id = key && f.properties && f.properties[key] !== undefined ? f.properties[key] : f.omId;
        if (id === undefined || id === null) { return; }
        var map = grid._map;
        readFeature(t, id).then(function (feature) {
            var g = feature.geometry, at = e.latlng;
            if (g && g.type === "Point") { at = L.latLng(g.coordinates[1], g.coordinates[0]); }
            window.onemap.openPopup(map, at, feature, h);
        }).catch(function (err) {
            L.popup({className: "om-popup-wrap"}).setLatLng(e.latlng)
                .setContent('<div class="om-popup om-error">' +
                            window.onemap.util.esc(String(err.message)) + "</div>").openOn(map);
        });
    }

    /* Keep a VectorGrid on the map for each big layer whose component is in its pane, made
       anew when its hideout changes (the language); remove the others. */
    var theMap = null, wanted = {}, shown = {};

    function apply() {
        if (!theMap) { return; }
        Object.keys(shown).forEach(function (id) {
            if (wanted[id] !== shown[id].json) {
                shown[id].stale = true;
                if (shown[id].grid) { shown[id].grid.remove(); }
                if (grids[id] === shown[id].grid) { delete grids[id]; }
                delete shown[id];
            }
        });
        Object.keys(wanted).forEach(function (id) {
            if (!shown[id]) { shown[id] = add(JSON.parse(wanted[id]), wanted[id]); }
        });
    }

    function add(h, json) {
        var t = h.tiles, entry = {json: json, grid: null, stale: false};
        plugin(t.script).then(function () {
            if (entry.stale || !theMap) { return; }
            var styles = {};
            styles[t.layer] = featureStyle(h);
            var grid = new Grid(t.url, {
                pane: t.pane, rendererFactory: function (coords, size, opts) {
                    return new TileCanvas(coords, size, opts);
                },
                interactive: h.interactive !== false, vectorTileLayerStyles: styles,
                maxNativeZoom: 20, maxZoom: 22,
                getFeatureId: function (f) { return f.id; },
                fetchOptions: {credentials: "same-origin", cache: t.live ? "no-store" : "default"},
                omLayer: t.layer, omTitle: t.title, omColor: h.cluster_color || "#455A64"
            });
            grid.on("click", function (ev) { clicked(ev, grid, h); });
            entry.grid = grid.addTo(theMap);
            grids[t.layer] = grid;
        }).catch(function (err) {
            window.console.error(t.missing, err);
            var pane = theMap && theMap.getPane(t.pane);
            if (pane) { pane.setAttribute("data-error", String(err.message)); }
        });
        return entry;
    }

    /* The clientside callback: the panes' children (one list per pane). */
    function sync(children) {
        wanted = {};
        (children || []).forEach(function (kids) {
            (kids || []).forEach(function (c) {
                var p = (c && c.props) || {};
                if (p.id && p.id.type === "om-tile-layer" && p.hideout && p.hideout.tiles) {
                    wanted[p.id.layer] = JSON.stringify(p.hideout);
                }
            });
        });
        apply();
        return Object.keys(wanted);
    }

    if (window.L && L.Map && L.Map.addInitHook) {
        L.Map.addInitHook(function () {
            var map = this;
            map.whenReady(function () {
                if (map.getContainer().id === "om-map") {
                    theMap = map;
                    apply();
                }
            });
        });
    }

    /* Draw a layer's tiles again (a live layer changed): asked anew, never from a cache. */
    function redraw(layerId) {
        var grid = grids[layerId];
        if (!grid) { return false; }
        grid.redraw();
        return true;
    }

    /* What a layer shows now (for tests and the curious): its tiles' bubbles and features. */
    function drawn(layerId) {
        var grid = grids[layerId];
        if (!grid || !grid._map) { return null; }
        var map = grid._map, out = {tiles: 0, loading: grid.isLoading(), bubbles: [],
                                    features: []};
        Object.keys(grid._tiles).forEach(function (key) {
            var tile = grid._tiles[key];
            if (!tile.current) { return; }
            out.tiles += 1;
            var counts = grid._counts[key];
            if (!counts) { out.loading = true; }
        });
        Object.keys(grid._bubbles).forEach(function (key) {
            if (!grid._tiles[key] || !grid._tiles[key].current) { return; }
            grid._bubbles[key].eachLayer(function (m) {
                var ll = m.getLatLng(), p = map.latLngToContainerPoint(ll);
                out.bubbles.push({count: m.omCount, bbox: m.omBounds, lat: ll.lat, lng: ll.lng,
                                  x: p.x, y: p.y});
            });
        });
        Object.keys(grid._vectorTiles || {}).forEach(function (key) {
            var tile = grid._tiles[key], renderer = grid._vectorTiles[key];
            if (!tile || !tile.current || !renderer._features) { return; }
            var offset = renderer.getCoord().scaleBy(grid.getTileSize());
            Object.keys(renderer._features).forEach(function (fid) {
                var sym = renderer._features[fid].feature, size = grid.getTileSize();
                /* only where centred: a tile also draws its neighbours' features near its edge */
                if (!sym._point || sym._point.x < 0 || sym._point.y < 0 ||
                        sym._point.x >= size.x || sym._point.y >= size.y) { return; }
                var ll = map.unproject(offset.add(sym._point), renderer.getCoord().z);
                var p = map.latLngToContainerPoint(ll);
                out.features.push({id: sym.omId, properties: sym.properties, lat: ll.lat,
                                   lng: ll.lng, x: p.x, y: p.y});
            });
        });
        return out;
    }

    window.onemap = Object.assign(window.onemap || {}, {tiles: {redraw: redraw, drawn: drawn}});
    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        onemap_tiles: {sync: sync}
    });
}());
