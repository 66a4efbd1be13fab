/* Relayflow pages: small progressive enhancements (the pages work without it). */
(function () {
  "use strict";

  function focusFirstError(root) {
    var bad = (root || document).querySelector('[aria-invalid="true"]');
    if (!bad) return;
    if (bad.tagName === "FIELDSET") bad = bad.querySelector("input") || bad;
    bad.focus();
    if (bad.scrollIntoView) bad.scrollIntoView({block: "center"});
  }

  function busy(form, submitter) {
    form.setAttribute("aria-busy", "true");
    if (submitter && submitter.tagName === "BUTTON") {
      submitter.classList.add("busy");
      // Keep the button's name/value in the post, then stop double submits.
      setTimeout(function () { submitter.disabled = true; }, 0);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusFirstError(document);
    document.addEventListener("submit", function (ev) {
      if (ev.target.matches("[hx-get], [hx-post]")) return;  // htmx handles it; the page stays
      busy(ev.target, ev.submitter);
    });
  });

  // Flow editor: a located problem moves the caret to its line and column.
  function gotoLine(area, line, column) {
    var lines = area.value.split("\n");
    var at = 0;
    for (var i = 0; i < Math.min(line - 1, lines.length); i++) at += lines[i].length + 1;
    at += Math.max(0, Math.min(column - 1, (lines[line - 1] || "").length));
    area.focus();
    area.setSelectionRange(at, at);
    var lh = parseFloat(getComputedStyle(area).lineHeight) || 18;
    area.scrollTop = Math.max(0, (line - 3) * lh);
  }

  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("a.goto[data-line]");
    var area = document.getElementById("yaml");
    if (!link || !area) return;
    ev.preventDefault();
    gotoLine(area, parseInt(link.dataset.line, 10) || 1, parseInt(link.dataset.column, 10) || 1);
  });

  // Flow editor: the textarea's validity follows the problems list; a plan is void once the text changes.
  document.addEventListener("htmx:afterSwap", function (ev) {
    var area = document.getElementById("yaml");
    if (!area || ev.detail.target.id !== "problems") return;
    if (document.getElementById("problem-list")) area.setAttribute("aria-invalid", "true");
    else area.removeAttribute("aria-invalid");
  });
  document.addEventListener("input", function (ev) {
    var apply = document.getElementById("apply");
    var note = document.getElementById("apply-stale");
    if (ev.target.id !== "yaml" || !apply || apply.disabled) return;
    apply.disabled = true;
    if (note) { note.hidden = false; apply.setAttribute("aria-describedby", "apply-stale"); }
  });

  // Conditional fields: #field-conditions (records/_conditions.html, refreshed by the live preview)
  // says which fields are hidden and which are required now; fields with a condition carry data-cond.
  function applyConditions() {
    var state = document.getElementById("field-conditions");
    if (!state) return;
    var hidden = (state.dataset.hidden || "").split(" ");
    var required = (state.dataset.required || "").split(" ");
    document.querySelectorAll("[data-cond]").forEach(function (wrap) {
      var name = wrap.dataset.cond;
      var req = required.indexOf(name) >= 0;
      wrap.hidden = hidden.indexOf(name) >= 0;
      wrap.querySelectorAll("abbr.req").forEach(function (mark) { mark.hidden = !req; });
      wrap.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (input) {
        if (req) { input.setAttribute("aria-required", "true"); input.required = true; }
        else { input.removeAttribute("aria-required"); input.required = false; }
      });
    });
  }
  document.addEventListener("htmx:oobAfterSwap", applyConditions);
  document.addEventListener("htmx:afterSettle", applyConditions);

  // htmx: show a failed request's message instead of doing nothing.
  document.addEventListener("htmx:responseError", function (ev) {
    var flash = document.getElementById("flash");
    var text = "";
    try {
      var doc = new DOMParser().parseFromString(ev.detail.xhr.responseText, "text/html");
      var msg = doc.querySelector(".error-page p");
      text = msg ? msg.textContent : "";
    } catch (e) { text = ""; }
    if (!flash) return;
    var p = document.createElement("p");
    p.className = "flash bad";
    p.setAttribute("role", "alert");
    p.textContent = text || ("Error " + ev.detail.xhr.status);
    flash.replaceChildren(p);
  });
})();

// Line items (widgets/table.html): add, remove and move rows; names follow the row's place.
(function () {
  "use strict";

  function renumber(grid) {
    var table = grid.dataset.table;
    var name = new RegExp("^" + table + "\\.-?\\d+\\.");
    var fid = new RegExp("^f-" + table + "\\.-?\\d+\\.");
    var out = new RegExp("^c-" + table + "-(-?\\d+)-");
    var rows = grid.querySelectorAll("tbody > tr.line-row");
    rows.forEach(function (tr, i) {
      tr.dataset.row = String(i);
      tr.querySelectorAll("[name]").forEach(function (el) { el.name = el.name.replace(name, table + "." + i + "."); });
      tr.querySelectorAll("[id]").forEach(function (el) {
        el.id = el.id.replace(fid, "f-" + table + "." + i + ".").replace(out, "c-" + table + "-" + i + "-");
      });
      tr.querySelectorAll("label[for]").forEach(function (el) {
        el.htmlFor = el.htmlFor.replace(fid, "f-" + table + "." + i + ".");
      });
      tr.querySelectorAll("[aria-describedby]").forEach(function (el) {
        el.setAttribute("aria-describedby", el.getAttribute("aria-describedby").split(" ").map(function (v) {
          return v.replace(fid, "f-" + table + "." + i + ".");
        }).join(" "));
      });
    });
    var add = grid.querySelector("[data-add-row]");
    var max = parseInt(grid.dataset.maxRows, 10);
    if (add && max) add.disabled = rows.length >= max;
    var empty = grid.querySelector(".empty-rows");
    if (empty) empty.hidden = rows.length > 0;
  }

  function changed(grid) {
    renumber(grid);
    grid.dispatchEvent(new Event("change", {bubbles: true}));  // the live preview listens on the form
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("[data-add-row], [data-remove-row], [data-move]");
    if (!button) return;
    var grid = button.closest("fieldset.line-grid");
    if (!grid) return;
    var body = grid.querySelector("tbody");
    if (button.hasAttribute("data-add-row")) {
      var tpl = grid.querySelector("template.row-template");
      if (!tpl) return;
      var row = tpl.content.firstElementChild.cloneNode(true);
      body.appendChild(row);
      changed(grid);
      var first = row.querySelector("input, select, textarea");
      if (first) first.focus();
      return;
    }
    var tr = button.closest("tr.line-row");
    if (!tr) return;
    if (button.hasAttribute("data-remove-row")) {
      var next = tr.nextElementSibling || tr.previousElementSibling;
      tr.remove();
      changed(grid);
      var focus = next ? next.querySelector("[data-remove-row]") : grid.querySelector("[data-add-row]");
      if (focus) focus.focus();
      return;
    }
    var step = parseInt(button.dataset.move, 10);
    var other = step < 0 ? tr.previousElementSibling : tr.nextElementSibling;
    if (!other) return;
    if (step < 0) body.insertBefore(tr, other); else body.insertBefore(other, tr);
    changed(grid);
    button.focus();
  });
})();
