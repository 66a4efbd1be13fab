/* File fields of a record form: a picked file is sent at once (streamed, as the request body) and, once
   stored, listed with a ticked box that posts its id with the form. Nothing is attached until the form
   is saved; a refused file shows the server's message and is not listed. */
(function () {
  "use strict";
  if (window.relayflowFiles) return;
  window.relayflowFiles = true;

  function csrf(form) {
    var input = form && form.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  function showError(box, text) {
    var p = box.querySelector("[data-upload-error]");
    p.textContent = text || "";
    p.hidden = !text;
  }

  function listed(box, file) {
    var li = document.createElement("li");
    li.className = "file";
    var label = document.createElement("label");
    var tick = document.createElement("input");
    tick.type = "checkbox";
    tick.name = box.dataset.name;
    tick.value = file.id;
    tick.checked = true;
    label.appendChild(tick);
    label.appendChild(document.createTextNode(" " + file.name));
    var size = document.createElement("span");
    size.className = "muted small";
    size.textContent = " " + file.size;
    li.appendChild(label);
    li.appendChild(size);
    if (file.image && file.preview_url) {
      var img = document.createElement("img");
      img.className = "file-preview";
      img.src = file.preview_url;
      img.alt = file.name;
      li.appendChild(img);
    }
    return li;
  }

  function upload(box, input, file) {
    var form = input.form;
    if (file.size > parseInt(box.dataset.maxSize, 10)) {
      showError(box, box.dataset.tooLarge);
      return Promise.resolve();
    }
    var list = box.querySelector("ul.files");
    var note = document.createElement("li");
    note.className = "muted small uploading";
    note.textContent = box.dataset.uploading.replace("{name}", file.name);
    list.appendChild(note);
    if (form) form.setAttribute("aria-busy", "true");
    return fetch(box.dataset.uploadUrl, {
      method: "POST", body: file, credentials: "same-origin",
      headers: {"X-CSRF-Token": csrf(form), "X-File-Name": encodeURIComponent(file.name),
                "Content-Type": "application/octet-stream"}
    }).then(function (r) {
      return r.json().then(function (body) { return {ok: r.ok, body: body}; });
    }).then(function (res) {
      note.remove();
      if (!res.ok) { showError(box, res.body.error || box.dataset.failed); return; }
      showError(box, "");
      if (box.dataset.multiple !== "true") {
        list.querySelectorAll('input[type="checkbox"]').forEach(function (c) { c.checked = false; });
      }
      list.appendChild(listed(box, res.body));
    }).catch(function () {
      note.remove();
      showError(box, box.dataset.failed);
    }).finally(function () {
      if (form) form.removeAttribute("aria-busy");
    });
  }

  document.addEventListener("change", function (ev) {
    var input = ev.target;
    if (!input.matches || !input.matches('[data-file-field] input[type="file"]')) return;
    var box = input.closest("[data-file-field]");
    var picked = Array.prototype.slice.call(input.files || []);
    var chain = Promise.resolve();
    picked.forEach(function (file) { chain = chain.then(function () { return upload(box, input, file); }); });
    chain.then(function () { input.value = ""; });
  });
})();
