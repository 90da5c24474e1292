/*
 * The map's time bar in the browser (see onemap/app/timebar.py).
 *
 * sync: the day and hour sliders, the one-hour steps, play/pause (a dcc.Interval) and "latest"
 *   write the Store `om-map-time` (ISO UTC, null = latest); a time set from outside (the URL)
 *   moves the sliders. No server round trip per tick.
 * stations: while an air_stations layer is on and an hour is chosen, runs `aqi-hourly` for that
 *   hour (POST to the OGC API, relative URL; answers cached) and gives the layer its own features
 *   with that hour's AQI, level, primary pollutant and concentrations; a station without a valid
 *   value is left without an AQI, so onemap.js draws it grey "no data". Re-applied whenever the
 *   layer is rebuilt (toggled on, language switched), so the chosen hour survives both.
 *
 * dash-leaflet ignores a prop change that arrives while the layer is still loading its `url`, so
 * after handing over the data this script checks the drawn symbols' colours against the data
 * and hands it over again until they agree.
 */
(function () {
    "use strict";

    var HOUR = 3600000, DAY = 86400000, BEIJING = 8 * HOUR;
    var VALUES = ["so2", "no2", "pm10", "co", "o3", "pm25", "aqi", "aqi_level",
                  "primary_pollutant"];
    var VERIFY_MS = [250, 700, 1500, 3000, 6000];
    var MAX_CACHE = 300;

    var state = {time: null, lang: "zh", strings: {}, base: "/"};
    var aqiCache = {};      // time -> Promise of {byId, error, detail}
    var aqiOrder = [];
    var featureCache = {};  // items URL -> Promise of a FeatureCollection
    var shown = {};         // layer component id -> FeatureCollection handed over
    var timers = {};        // layer component id -> pending debounce timer

    function nu() { return window.dash_clientside.no_update; }

    function parse(text) {
        var ms = text ? Date.parse(text) : NaN;
        return isNaN(ms) ? null : ms;
    }

    function iso(ms) { return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"); }

    /* "2025-01-22 08:00", Beijing time. */
    function beijingText(ms) {
        return new Date(ms + BEIJING).toISOString().slice(0, 16).replace("T", " ");
    }

    /* "2025-01-22T08:00:00+08:00", the form aqi-hourly answers in. */
    function beijingIso(ms) {
        return new Date(ms + BEIJING).toISOString().slice(0, 19) + "+08:00";
    }

    function triggeredIds() {
        var ctx = window.dash_clientside.callback_context || {};
        return (ctx.triggered || []).map(function (t) { return String(t.prop_id || ""); });
    }

    function S() { return state.strings[state.lang] || state.strings.zh || {}; }

    function format(template, values) {
        return String(template || "").replace(/\{(\w+)\}/g, function (m, k) {
            return values[k] !== undefined ? values[k] : m;
        });
    }

    /* ---------------------------------------------------------------- the bar */

    function sync(day, hour, _prev, _next, _latest, _play, _tick, time, ext, timerOff, lang,
                  strings) {
        var keep = [nu(), nu(), nu(), nu(), nu(), nu()];
        var start = parse(ext && ext.start), end = parse(ext && ext.end);
        var day0 = parse(ext && ext.day0);
        if (start === null || end === null || day0 === null) { return keep; }
        var trig = triggeredIds();
        function hit(id) {
            return trig.some(function (p) { return p.indexOf(id + ".") === 0; });
        }
        function clamp(ms) { return Math.min(Math.max(ms, start), end); }
        function dayHour(ms) {
            var off = clamp(ms) - day0;
            return [Math.floor(off / DAY), Math.floor((off % DAY) / HOUR)];
        }
        var cur = parse(time);
        var playing = timerOff === false;
        var wasPlaying = playing;
        var next;  // undefined: unchanged; null: latest; else ms
        if (hit("om-tb-latest")) {
            next = null;
            playing = false;
        } else if (hit("om-tb-play")) {
            playing = !playing;
            if (playing && (cur === null || cur >= end)) { next = start; }
        } else if (hit("om-tb-timer")) {
            if (!playing) { return keep; }
            var from = cur === null ? end : cur;
            next = clamp(from + HOUR);
            if (next >= end) { playing = false; }
        } else if (hit("om-tb-prev") || hit("om-tb-next")) {
            next = clamp((cur === null ? end : cur) + (hit("om-tb-prev") ? -HOUR : HOUR));
        } else if (hit("om-tb-day") || hit("om-tb-hour")) {
            next = clamp(day0 + Number(day || 0) * DAY + Number(hour || 0) * HOUR);
        } else if (hit("om-map-time")) {
            // Set from outside (the link): only the sliders follow.
            var dh0 = dayHour(cur === null ? end : cur);
            return [nu(), dh0[0] !== day ? dh0[0] : nu(), dh0[1] !== hour ? dh0[1] : nu(),
                    nu(), nu(), nu()];
        } else {
            return keep;
        }
        var outTime = nu();
        if (next === null) {
            outTime = time === null || time === undefined ? nu() : null;
        } else if (next !== undefined && next !== cur) {
            outTime = iso(next);
        }
        var dh = dayHour(next === undefined ? (cur === null ? end : cur)
                                            : (next === null ? end : next));
        var words = (strings && (strings[lang] || strings.zh)) || {};
        var changed = playing !== wasPlaying;
        return [outTime, dh[0] !== day ? dh[0] : nu(), dh[1] !== hour ? dh[1] : nu(),
                changed ? !playing : nu(), changed ? (playing ? "❚❚" : "▶") : nu(),
                changed ? (words[playing ? "pause" : "play"] || "") : nu()];
    }

    /* ---------------------------------------------------------------- stations */

    function remember(time, promise) {
        aqiCache[time] = promise;
        aqiOrder.push(time);
        while (aqiOrder.length > MAX_CACHE) { delete aqiCache[aqiOrder.shift()]; }
    }

    /* aqi-hourly for one hour: {byId: station_id -> properties, error, detail}. */
    function aqiAt(time) {
        if (aqiCache[time]) { return aqiCache[time]; }
        var url = state.base + "ogc/processes/aqi-hourly/execution";
        var promise = fetch(url, {
            method: "POST",
            headers: (window.onemapCsrf || Object)({"Content-Type": "application/json",
                                                    "Accept": "application/json"}),
            body: JSON.stringify({inputs: {time: time}})
        }).then(function (resp) {
            return resp.json().catch(function () { return {}; }).then(function (body) {
                if (resp.ok) {
                    var byId = {};
                    ((body.stations && body.stations.features) || []).forEach(function (f) {
                        var p = f.properties || {};
                        if (p.station_id !== undefined) { byId[String(p.station_id)] = p; }
                    });
                    return {byId: byId, error: null};
                }
                var code = body && (body.code || body.type);
                return {byId: {}, error: code === "NoData" ? "no_data" : "failed",
                        detail: "HTTP " + resp.status};
            });
        }).catch(function () {
            return {byId: {}, error: "failed", detail: "network"};
        }).then(function (result) {
            if (result.error === "failed") { delete aqiCache[time]; }  // try again next time
            return result;
        });
        remember(time, promise);
        return promise;
    }

    function features(url) {
        if (!featureCache[url]) {
            featureCache[url] = fetch(url, {headers: {"Accept": "application/geo+json"}})
                .then(function (r) {
                    if (!r.ok) { throw new Error("HTTP " + r.status); }
                    return r.json();
                })
                .catch(function (err) { delete featureCache[url]; throw err; });
        }
        return featureCache[url];
    }

    /* The layer's features with the values of that hour (none: no data that hour). */
    function merge(fc, result, time) {
        var ms = parse(time);
        var out = (fc.features || []).map(function (f) {
            var p = Object.assign({}, f.properties || {});
            var key = p.station_id !== undefined ? p.station_id : f.id;
            var v = result.byId[String(key)];
            VALUES.forEach(function (k) {
                p[k] = v && v[k] !== undefined ? v[k] : null;
            });
            if (v && v.primary_pollutant === "") { p.primary_pollutant = null; }
            p.time = (v && v.time) || beijingIso(ms);
            return {type: "Feature", id: f.id, geometry: f.geometry, properties: p};
        });
        return {type: "FeatureCollection", features: out, om_time: time};
    }

    function setStatus(result, time) {
        var text = "";
        if (result && result.error) {
            var key = result.error === "no_data" ? "tb_no_data" : "tb_failed";
            text = format(S()[key], {time: beijingText(parse(time)),
                                     detail: result.detail || ""});
        }
        window.dash_clientside.set_props("om-tb-status", {children: text});
    }

    /* Do the drawn symbols show `fc`? (SVG paths of the pane, in feature order.) */
    function drawn(pane, fc, hideout) {
        var color = window.onemap && window.onemap.classColor;
        if (!color) { return true; }
        var paths = document.querySelectorAll(".leaflet-" + pane + "-pane path");
        if (paths.length !== fc.features.length) { return false; }
        var style = (hideout && hideout.style) || {};
        for (var i = 0; i < paths.length; i++) {
            var want = String(color(style, fc.features[i].properties)).toLowerCase();
            if (String(paths[i].getAttribute("fill") || "").toLowerCase() !== want) {
                return false;
            }
        }
        return true;
    }

    function handOver(layerId, pane, fc, hideout, attempt) {
        shown[layerId] = fc;
        window.dash_clientside.set_props(layerId, {data: fc});
        if (attempt >= VERIFY_MS.length) { return; }
        setTimeout(function () {
            if (shown[layerId] !== fc || state.time !== fc.om_time) { return; }
            if (!drawn(pane, fc, hideout)) {
                var again = Object.assign({}, fc);
                handOver(layerId, pane, again, hideout, attempt + 1);
            } else if (attempt + 1 < VERIFY_MS.length) {
                // Drawn; look once more in case a load still in flight redraws the old data.
                setTimeout(function () {
                    if (shown[layerId] === fc && state.time === fc.om_time &&
                            !drawn(pane, fc, hideout)) {
                        handOver(layerId, pane, Object.assign({}, fc), hideout, attempt + 2);
                    }
                }, VERIFY_MS[attempt + 1]);
            }
        }, VERIFY_MS[attempt]);
    }

    function load(spec, layerId, hideout, time) {
        var pane = "om-" + spec.id;
        Promise.all([features(spec.url), aqiAt(time)]).then(function (both) {
            if (state.time !== time || !(layerId in shown)) { return; }
            handOver(layerId, pane, merge(both[0], both[1], time), hideout, 0);
            setStatus(both[1], time);
        }).catch(function () {
            if (state.time === time) { setStatus({error: "failed", detail: "network"}, time); }
        });
    }

    function stations(time, panes, lang, specs, config, strings) {
        var ctx = window.dash_clientside.callback_context || {};
        var paneIds = ((ctx.inputs_list || [])[1] || []).map(function (e) { return e.id.layer; });
        state.time = time || null;
        state.lang = lang || "zh";
        state.strings = strings || {};
        state.base = (config && config.base) || "/";
        if (!state.time) { window.dash_clientside.set_props("om-tb-status", {children: ""}); }
        (specs || []).forEach(function (spec) {
            if (spec.kind !== "vector" || spec.family !== "air_stations") { return; }
            var i = paneIds.indexOf(spec.id);
            var child = i >= 0 && panes[i] && panes[i][0];
            var props = child && child.props;
            var layerId = "om-layer-" + spec.id;
            if (!props || props.id !== layerId) {  // off (or drawn per view: not ours)
                delete shown[layerId];
                return;
            }
            var has = props.data && props.data.om_time;
            if (!state.time) {
                delete shown[layerId];
                if (has) { window.dash_clientside.set_props(layerId, {data: null}); }
                return;
            }
            if (has === state.time && shown[layerId]) { return; }
            shown[layerId] = shown[layerId] || null;
            clearTimeout(timers[layerId]);
            // A short pause so that holding an arrow key asks only for the hour it stops at.
            var wait = aqiCache[state.time] ? 0 : 120;
            var when = state.time;
            timers[layerId] = setTimeout(function () {
                if (state.time === when) { load(spec, layerId, props.hideout, when); }
            }, wait);
        });
        return nu();
    }

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        onemap_timebar: {sync: sync, stations: stations}
    });
}());
