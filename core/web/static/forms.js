// Every POST form gets an idempotency key (core/web/idempotency.py): a double click or a resent
// form is then done once by the server. A fresh key per page load, so a corrected form after
// an error is a new submission.
(function () {
  "use strict";
  function key() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  for (const form of document.querySelectorAll("form")) {
    if ((form.getAttribute("method") || "").toLowerCase() !== "post" || form.elements._idempotency_key) { continue; }
    const field = document.createElement("input");
    field.type = "hidden";
    field.name = "_idempotency_key";
    field.value = key();
    form.appendChild(field);
  }
})();
