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
      busy(ev.target, ev.submitter);
    });
  });

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
