/*
 * OneMap raster upload: XMLHttpRequest straight to POST /api/rasters (multipart/form-data), so
 * the browser streams the file from disk and the progress bar shows real bytes sent; then the
 * conversion job is polled at GET /api/jobs/{id}. Dash only lays out the form (app/upload.py):
 * the clientside callbacks below start/cancel the upload and render its state, which this script
 * reports into the `om-upload-state` store with dash_clientside.set_props. On success the new
 * dataset id goes into `om-uploaded`, and a server callback rebuilds the raster list.
 *
 * Dash has no file input that leaves the file on disk (dcc.Upload base64-encodes it in memory),
 * so the <input type=file> is created here, inside the `om-upload-file-slot` div.
 */
(function () {
    "use strict";

    var POLL_MS = 600;
    var PROGRESS_EVERY_MS = 150;
    /* Band names accepted for the red and near-infrared bands (lower case). */
    var RED = ["red", "r", "b_red", "红", "红光", "红波段"];
    var NIR = ["nir", "nir1", "near_infrared", "near-infrared", "近红外", "近红外波段"];

    var job = null;        /* the upload in progress: {xhr, id, timer, base} */
    var state = {phase: "idle"};

    function clientside() { return window.dash_clientside || {}; }

    function report(next) {
        state = next;
        if (clientside().set_props) { clientside().set_props("om-upload-state", {data: next}); }
    }

    function fileInput() { return document.getElementById("om-upload-file"); }

    function sizeText(bytes) {
        if (!(bytes >= 0)) { return "?"; }
        if (bytes < 1024 * 1024) { return (bytes / 1024).toFixed(0) + " KB"; }
        return (bytes / 1024 / 1024).toFixed(1) + " MB";
    }

    /* The <input type=file>, re-created whenever Dash re-renders its slot. */
    function ensureFileInput() {
        var slot = document.getElementById("om-upload-file-slot");
        if (!slot || fileInput()) { return; }
        var input = document.createElement("input");
        input.type = "file";
        input.id = "om-upload-file";
        input.accept = ".tif,.tiff,image/tiff";
        input.className = "om-file-input";
        input.addEventListener("change", function () {
            var f = input.files && input.files[0];
            if (clientside().set_props) {
                clientside().set_props("om-upload-filename",
                                       {children: f ? f.name + " (" + sizeText(f.size) + ")" : ""});
            }
        });
        slot.appendChild(input);
    }
    new MutationObserver(ensureFileInput).observe(document.documentElement,
                                                  {childList: true, subtree: true});

    function splitBands(text) {
        return String(text || "").split(/[\s,;，、；]+/).filter(function (b) { return b; });
    }

    function findBand(names, aliases) {
        for (var i = 0; i < names.length; i++) {
            if (aliases.indexOf(names[i].toLowerCase()) >= 0) { return i + 1; }
        }
        return 0;
    }

    /* titiler band math for NDVI from the band names, or null when red/nir are not named. */
    function ndviExpression(names) {
        var r = findBand(names, RED), n = findBand(names, NIR);
        if (!r || !n) { return null; }
        return "(b" + n + "-b" + r + ")/(b" + n + "+b" + r + ")";
    }

    function parseJson(text) {
        try { return JSON.parse(text); } catch (e) { return null; }
    }

    /* The browser's session cookie says who uploads (same origin); a logged-in browser's
       writes carry the session's CSRF token (login.js). */
    function headers() {
        var h = {Accept: "application/json"};
        return window.onemapCsrf ? window.onemapCsrf(h) : h;
    }

    function finish(next) {
        if (job && job.timer) { clearTimeout(job.timer); }
        job = null;
        report(next);
    }

    function failed(status, body, fallbackKey) {
        var detail = body && (body.detail || body.message || body.description);
        if (typeof detail !== "string") { detail = detail ? JSON.stringify(detail) : ""; }
        var next = {phase: "error", status: status, detail: detail, key: fallbackKey || "",
                    code: (body && body.code) || ""};
        if (status === 401) { next.key = "upload_need_login"; }
        if (status === 403) { next.key = "upload_need_role"; }
        finish(next);
    }

    function succeeded(dataset, title) {
        finish({phase: "done", dataset: dataset, title: title, progress: 100});
        if (clientside().set_props) {
            clientside().set_props("om-uploaded", {data: {dataset: dataset, at: Date.now()}});
        }
    }

    function poll() {
        if (!job || !job.id) { return; }
        var current = job;
        fetch(current.base + "api/jobs/" + encodeURIComponent(current.id),
              {headers: headers()})
            .then(function (resp) {
                return resp.text().then(function (text) { return [resp.status, parseJson(text)]; });
            })
            .then(function (res) {
                if (job !== current) { return; }  /* cancelled meanwhile */
                var status = res[0], body = res[1] || {};
                if (status >= 400) { failed(status, body); return; }
                if (body.status === "successful") {
                    succeeded(body.dataset || current.dataset, current.title);
                } else if (body.status === "failed") {
                    failed(0, {detail: body.message || "", code: "ConversionFailed"});
                } else if (body.status === "dismissed") {
                    finish({phase: "cancelled"});
                } else {
                    report({phase: "converting", progress: Number(body.progress) || 0,
                            dataset: current.dataset, title: current.title});
                    current.timer = setTimeout(poll, POLL_MS);
                }
            })
            .catch(function () {
                if (job === current) { finish({phase: "error", key: "upload_network"}); }
            });
    }

    function onLoad(xhr, current) {
        var body = parseJson(xhr.responseText);
        if (xhr.status === 202 && body && body.jobID) {
            current.id = body.jobID;
            current.dataset = body.dataset;
            report({phase: "converting", progress: 0, dataset: body.dataset, title: current.title});
            current.timer = setTimeout(poll, POLL_MS);
        } else if (xhr.status === 201 || xhr.status === 200) {
            succeeded((body && (body.id || body.dataset)) || "", current.title);
        } else {
            failed(xhr.status, body, body ? "" : "upload_http");
        }
    }

    /* Clientside callback: the Upload button. Returns the first state (or a form error). */
    function start(n, title, date, bands, series, render, config) {
        var input = fileInput();
        var file = input && input.files && input.files[0];
        if (!file) { return {phase: "error", key: "upload_need_file"}; }
        if (job) { return clientside().no_update; }
        var names = splitBands(bands);
        var form = new FormData();
        var name = String(title || "").trim() || file.name.replace(/\.tiff?$/i, "");
        form.append("title", name);
        if (String(date || "").trim()) { form.append("date", String(date).trim()); }
        if (names.length) { form.append("bands", names.join(",")); }
        if (String(series || "").trim()) { form.append("collection", String(series).trim()); }
        if (render === "ndvi") {
            var expr = ndviExpression(names);
            if (!expr) { return {phase: "error", key: "upload_ndvi_bands"}; }
            form.append("expression", expr);
            form.append("colormap", "onemap_ndvi");
            form.append("rescale", "-0.2,1");
        }
        form.append("file", file, file.name);  /* last: the fields arrive before the bytes */
        var base = (config && config.base) || "/";
        var xhr = new XMLHttpRequest();
        var current = {xhr: xhr, base: base, title: name};
        job = current;
        var last = 0;
        xhr.upload.onprogress = function (e) {
            var now = Date.now();
            if (job !== current || (now - last < PROGRESS_EVERY_MS && e.loaded < e.total)) { return; }
            last = now;
            report({phase: "uploading", loaded: e.loaded, total: e.total || file.size,
                    title: name});
        };
        xhr.onload = function () {
            current.xhr = null;
            if (job === current) { onLoad(xhr, current); }
        };
        xhr.onerror = function () {
            if (job === current) { finish({phase: "error", key: "upload_network"}); }
        };
        xhr.onabort = function () {
            if (job === current) { finish({phase: "cancelled"}); }
        };
        xhr.open("POST", base + "api/rasters");
        var sent = headers();
        Object.keys(sent).forEach(function (k) { xhr.setRequestHeader(k, sent[k]); });
        xhr.send(form);
        return {phase: "uploading", loaded: 0, total: file.size, title: name};
    }

    /* Clientside callback: the Cancel button (abort the transfer or dismiss the job). */
    function cancel() {
        var current = job;
        if (!current) { return clientside().no_update; }
        job = null;
        if (current.timer) { clearTimeout(current.timer); }
        if (current.xhr) {
            current.xhr.abort();
        } else if (current.id) {
            // A conversion that ended before the cancel arrived has added the raster: say so
            // rather than "cancelled" (the server keeps a finished job's status).
            fetch(current.base + "api/jobs/" + encodeURIComponent(current.id),
                  {method: "DELETE", headers: headers()})
                .then(function (resp) { return resp.json(); })
                .then(function (body) {
                    if (body && body.status === "successful" && job === null) {
                        succeeded(body.dataset || current.dataset, current.title);
                    }
                })
                .catch(function () {});
        }
        state = {phase: "cancelled"};
        return state;
    }

    function fmt(template, values) {
        return String(template || "").replace(/\{(\w+)\}/g, function (m, k) {
            return values[k] === undefined ? m : values[k];
        });
    }

    function message(s, S) {
        switch (s.phase) {
        case "uploading":
            var pct = s.total ? Math.floor(100 * s.loaded / s.total) : 0;
            return fmt(S.upload_uploading, {pct: pct, done: sizeText(s.loaded),
                                            total: sizeText(s.total)});
        case "converting":
            return fmt(S.upload_converting, {pct: Math.round(s.progress || 0)});
        case "done":
            return fmt(S.upload_done, {title: s.title || s.dataset || ""});
        case "cancelled":
            return S.upload_cancelled;
        case "error":
            // The server explains in English; a Chinese screen says the same by error code
            // (S.upload_show_detail is empty there), so no screen mixes languages.
            var coded = s.code && S["upload_err_" + s.code];
            var detail = S.upload_show_detail ? s.detail : "";
            var why = (coded && detail ? coded + " (" + detail + ")" : coded) ||
                (s.key ? fmt(S[s.key], {status: s.status}) : "") ||
                (s.code && window.onemap.errorText ?  /* any other code: the page's words */
                    window.onemap.errorText({code: s.code, detail: s.detail}, s.status,
                                            S.upload_show_detail ? "en" : "zh") : "") ||
                detail || fmt(S.upload_http, {status: s.status});
            if (s.key === "upload_need_login" || s.key === "upload_need_role") {
                why = S[s.key] + (detail ? " (" + detail + ")" : "");
            }
            return s.key === "upload_need_file" || s.key === "upload_ndvi_bands" ? why
                : fmt(S.upload_failed, {detail: why});
        default:
            return "";
        }
    }

    /* Clientside callback: state + language -> progress bar, message, buttons. */
    function render(s, lang, strings) {
        s = s || {phase: "idle"};
        var S = (strings && (strings[lang] || strings.zh)) || {};
        var busy = s.phase === "uploading" || s.phase === "converting";
        var pct = s.phase === "uploading" ? (s.total ? 100 * s.loaded / s.total : 0)
            : s.phase === "converting" ? Math.max(Number(s.progress) || 0, 0)
            : s.phase === "done" ? 100 : 0;
        var shown = busy || s.phase === "done";
        if (s.phase !== "idle") {  /* the message is at the foot of a scrolling panel */
            setTimeout(function () {
                var el = document.getElementById("om-upload-msg");
                if (el && el.scrollIntoView) { el.scrollIntoView({block: "nearest"}); }
            }, 0);
        }
        return [
            {display: shown ? "block" : "none"},
            {width: pct.toFixed(1) + "%"},
            message(s, S),
            "om-upload-msg om-upload-" + (s.phase || "idle"),
            {display: busy ? "inline-block" : "none"},
            busy,
            "om-progress-bar om-progress-" + (s.phase || "idle")
        ];
    }

    var dc = window.dash_clientside = window.dash_clientside || {};
    dc.onemap_upload = {start: start, cancel: cancel, render: render};
    window.onemap = Object.assign(window.onemap || {}, {ndviExpression: ndviExpression});
}());
