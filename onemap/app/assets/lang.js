/* What the language switch changes outside Dash components: the tab title, <html lang>, and the
   tooltips Leaflet writes itself (zoom buttons, attribution link). See dashapp.py. */
(function () {
    "use strict";
    function setTitles(strings, lang, tries) {
        var pick = function (k) { return (strings[k] || {})[lang] || (strings[k] || {}).zh || ""; };
        var found = 0;
        [["leaflet-control-zoom-in", "zoom_in"], ["leaflet-control-zoom-out", "zoom_out"]]
            .forEach(function (pair) {
                document.querySelectorAll("." + pair[0]).forEach(function (el) {
                    el.title = pick(pair[1]);
                    el.setAttribute("aria-label", pick(pair[1]));
                    found += 1;
                });
            });
        document.querySelectorAll(".leaflet-control-attribution a[title]").forEach(function (el) {
            el.title = pick("leaflet_title");
        });
        // The map's controls appear a moment after the layout; try again until they exist.
        if (!found && tries > 0) {
            setTimeout(function () { setTitles(strings, lang, tries - 1); }, 250);
        }
    }
    /* A failed request's {code, detail} in words (onemap/app/errorwords.py): by its code, the
       server's English detail only on an English screen, so no screen mixes languages. */
    function errorText(body, status, lang) {
        var el = document.getElementById("om-error-words");
        var table = el ? JSON.parse(el.getAttribute("data-words") || "{}") : {};
        var code = (body && body.code) || "", detail = (body && body.detail) || "";
        if (typeof detail !== "string") { detail = JSON.stringify(detail); }
        var pair = (table.codes || {})[code] ||
            ((status >= 500 || !status) ? table.failed : table.refused) || ["HTTP {status}", "HTTP {status}"];
        var text = pair[lang === "en" ? 1 : 0].split("{status}").join(String(status));
        return lang === "en" && detail ? text + " (" + detail + ")" : text;
    }
    window.onemap = Object.assign(window.onemap || {}, {errorText: errorText});

    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        onemap_lang: {
            apply: function (lang, strings) {
                lang = lang === "en" ? "en" : "zh";
                document.title = (strings.page_title || {})[lang] || document.title;
                document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
                setTitles(strings, lang, 40);
                return lang;
            }
        }
    });
}());
