// The recording page: one chosen video through the resumable upload (tus_upload.js).
// The page warns before leaving while an upload is incomplete (spec 4.2.2 (1)).
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = document.getElementById("video-file");
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const button = document.getElementById("upload-button");
  const msg = (name) => form.dataset["msg" + name];
  let busy = false;

  window.addEventListener("beforeunload", (event) => {
    if (!busy) return;
    event.preventDefault();
    event.returnValue = msg("Leave");
    return msg("Leave");
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files[0];
    if (!file) return;
    if (file.size > Number(form.dataset.maxBytes)) { status.textContent = msg("TooBig"); return; }
    busy = true;
    button.disabled = true;
    try {
      await window.mendanTus.upload(file, {
        endpoint: form.dataset.endpoint,
        onStatus: (kind, percent) => {
          status.textContent = msg(kind) + (kind === "Hashing" && percent ? " " + percent + "%" : "");
        },
        onProgress: (bytes) => { bar.value = Math.floor((100 * bytes) / file.size); },
      });
      bar.value = 100;
      status.textContent = msg("Done");
      form.dataset.state = "done";
    } catch (e) {
      status.textContent = e.message === "network" ? msg("Retry") : e.message;
      form.dataset.state = "failed";
    } finally {
      busy = false;
      button.disabled = false;
    }
  });
})();
