/* The analysis dock: tab switching without a server round trip (see onemap/app/dock.py). */
(function () {
    "use strict";
    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        onemap_dock: {
            /* The panel of this callback's output has just been opened and was never laid
             * out: ask the server for its layout (onemap/app/dock.py). */
            wantPanel: function (state, laid) {
                var ctx = window.dash_clientside.callback_context;
                var panel = ctx.outputs_list.id.panel;
                if (laid || !state || state.open !== panel) {
                    return window.dash_clientside.no_update;
                }
                return Date.now();
            },
            switchTab: function (_clicks, state) {
                var ctx = window.dash_clientside.callback_context;
                var ids = ctx.outputs_list[1].map(function (o) { return o.id.panel; });
                var trig = ctx.triggered && ctx.triggered[0] ? ctx.triggered[0].prop_id : "";
                var clicked = null;
                try { clicked = JSON.parse(trig.split(".")[0]).panel; } catch (e) { clicked = null; }
                var open = state && state.open;
                if (clicked) { open = clicked === open ? null : clicked; }
                return [
                    {open: open},
                    ids.map(function (p) { return "om-tab" + (p === open ? " om-tab-active" : ""); }),
                    ids.map(function (p) { return {display: p === open ? "block" : "none"}; }),
                    "om-dock" + (open ? " om-dock-open" : "")
                ];
            }
        }
    });
}());
