/*
 * The admin page (onemap/app/admin/page.py): what its language switch changes outside Dash
 * components. The tab title, <html lang>, the URL's lang= (so a reload or a bookmark keeps the
 * language, as on the map) and the link back to the map in the same language.
 */
(function () {
    "use strict";
    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        onemap_admin: {
            apply: function (lang, page) {
                lang = lang === "en" ? "en" : "zh";
                page = page || {};
                document.title = (page.titles || {})[lang] || document.title;
                document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
                var url = new URL(window.location.href);
                if (lang === "en") {
                    url.searchParams.set("lang", "en");
                } else {
                    url.searchParams.delete("lang");
                }
                window.history.replaceState(window.history.state, "", url.toString());
                return [lang, (page.base || "/") + (lang === "en" ? "?lang=en" : "")];
            }
        }
    });
}());
