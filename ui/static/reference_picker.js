/* Reference picker (ui/templates/widgets/reference.html): the search box asks the server (htmx) for the
   records one may pick; choosing one puts its id in the hidden input. Typing again forgets the pick, so a
   saved reference is always one the server offered. */
(function () {
  "use strict";

  function pickerOf(el) { return el.closest && el.closest(".ref-picker"); }

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("button.ref-pick");
    if (!btn) return;
    var box = pickerOf(btn);
    if (!box) return;
    var hidden = box.querySelector('input[type="hidden"]');
    var search = box.querySelector('input[type="search"]');
    hidden.value = btn.dataset.id;
    search.value = btn.dataset.title;
    search.setAttribute("aria-expanded", "false");
    box.querySelector(".ref-options").replaceChildren();
    hidden.dispatchEvent(new Event("change", {bubbles: true}));
    search.focus();
  });

  document.addEventListener("input", function (ev) {
    var box = ev.target.matches && ev.target.matches('.ref-picker input[type="search"]') && pickerOf(ev.target);
    if (!box) return;
    box.querySelector('input[type="hidden"]').value = "";
    ev.target.setAttribute("aria-expanded", "true");
  });
})();
