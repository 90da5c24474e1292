/* OneMap accessibility fixes the components' own markup needs (WCAG 2.1 AA, checked by axe-core
 * in tests/app/test_a11y.py). Applied to the whole page after the DOM changed, once the page is
 * idle:
 *  - Dash 4 draws RadioItems and Checklist as role=listbox holding role=option labels that each
 *    hold a native radio or checkbox: a screen reader then announces options, not the inputs'
 *    checked state, and the keys it announces do nothing. The native inputs already say it all,
 *    so the list becomes a plain radiogroup / group and the labels lose their option role.
 *  - Controls with no name (Dash sliders have no aria props): named by a `title` on the box
 *    around them (the time bar's day and hour, kept in step when the language changes), else by
 *    the text label that opens that box.
 *  - Table rows and other elements marked data-om-activate (or given role=button) answer Enter
 *    and Space like a button.
 */
(function () {
    "use strict";

    var CONTROL = "[role=slider], input:not([type=hidden]), select, textarea";
    var pending = false;

    function named(el) {
        return el.hasAttribute("aria-label") && !el.hasAttribute("data-om-named") ||
            el.hasAttribute("aria-labelledby") && !el.hasAttribute("data-om-named") ||
            (el.labels && el.labels.length > 0) || el.hasAttribute("title");
    }

    /* RadioItems and Checklist only: a Dropdown's menu is a real listbox of options. */
    var LISTS = ".dash-radioitems.dash-options-list, .dash-checklist.dash-options-list";

    function fixOptionLists(root) {
        var lists = root.querySelectorAll(LISTS);
        for (var i = 0; i < lists.length; i++) {
            var list = lists[i];
            if (list.getAttribute("role") === "listbox") {
                list.setAttribute("role", list.querySelector("input[type=radio]") ? "radiogroup"
                                                                                  : "group");
                list.removeAttribute("aria-multiselectable");
            }
            var options = list.querySelectorAll(".dash-options-list-option");
            for (var j = 0; j < options.length; j++) {
                if (options[j].hasAttribute("role")) { options[j].removeAttribute("role"); }
                if (options[j].hasAttribute("aria-selected")) {
                    options[j].removeAttribute("aria-selected");
                }
            }
        }
    }

    /* The box's visible label: its first child when that is text (a <label>, or an element whose
     * class ends in -label) and not the control's own wrapper. */
    function labelOf(box, control) {
        var first = box.firstElementChild;
        if (!first || first.contains(control)) { return null; }
        var cls = " " + (first.className || "") + " ";
        if (first.tagName === "LABEL" || /-label /.test(cls)) { return first; }
        return null;
    }

    var uid = 0;
    function nameControls(root) {
        var controls = root.querySelectorAll(CONTROL);
        for (var i = 0; i < controls.length; i++) {
            var el = controls[i];
            if (named(el)) { continue; }
            var box = el.parentElement, done = false;
            for (var depth = 0; box && depth < 5 && !done; depth++, box = box.parentElement) {
                if (box.getAttribute("title")) {
                    if (el.getAttribute("aria-label") !== box.getAttribute("title")) {
                        el.setAttribute("aria-label", box.getAttribute("title"));
                    }
                    el.setAttribute("data-om-named", "title");
                    done = true;
                } else {
                    var label = labelOf(box, el);
                    if (label) {
                        if (!label.id) { label.id = "om-a11y-label-" + (++uid); }
                        el.setAttribute("aria-labelledby", label.id);
                        el.setAttribute("data-om-named", "label");
                        done = true;
                    }
                }
            }
        }
    }

    function apply() {
        pending = false;
        fixOptionLists(document);
        nameControls(document);
    }

    /* When the page is idle (never later than 300 ms): the fixes are attributes a person
     * cannot see, and the first screen's drawing comes first. */
    function schedule() {
        if (!pending) {
            pending = true;
            if (window.requestIdleCallback) {
                window.requestIdleCallback(apply, {timeout: 300});
            } else {
                window.setTimeout(apply, 50);
            }
        }
    }

    /* Enter or Space on an element that plays a button without being one (a picked table row). */
    document.addEventListener("keydown", function (ev) {
        var el = ev.target;
        if (!el || el.tagName === "BUTTON" || el.tagName === "A" || el.tagName === "INPUT") { return; }
        if (!el.getAttribute || !(el.getAttribute("role") === "button" ||
                                  el.hasAttribute("data-om-activate"))) { return; }
        if (ev.key === "Enter" || ev.key === " ") {
            ev.preventDefault();
            el.click();
        }
    });

    /* The map's panes change all the time (tiles, symbols) and hold no control; popups do. */
    var MAP_PANES = ".leaflet-pane:not(.leaflet-popup-pane):not(.leaflet-map-pane)";

    function changed(records) {
        for (var i = 0; i < records.length; i++) {
            var t = records[i].target;
            if (!(t.closest && t.closest(MAP_PANES))) {
                schedule();
                return;
            }
        }
    }

    function start() {
        new MutationObserver(changed).observe(document.body, {
            childList: true, subtree: true, attributes: true,
            attributeFilter: ["role", "aria-selected", "title"]
        });
        schedule();
    }

    if (document.body) { start(); } else { document.addEventListener("DOMContentLoaded", start); }
}());
