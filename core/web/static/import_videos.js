// A bulk import's videos: each chosen file goes through the resumable upload (tus_upload.js),
// one after the other; then the page reloads to show the check again with the videos in place.
// What was refused (a name the CSV does not give, a file that is no video) is kept for the reloaded page.
(function () {
  "use strict";
  const input = document.getElementById("import-video-files");
  if (!input) return;
  const bar = document.getElementById("import-video-progress");
  const status = document.getElementById("import-video-status");
  const results = document.getElementById("import-video-results");
  const msg = (name) => input.dataset["msg" + name];
  const kept = "mendan-import-messages:" + input.dataset.endpoint;
  let busy = false;

  function show(lines) {
    results.replaceChildren(...lines.map((line) => {
      const li = document.createElement("li");
      li.textContent = line;
      return li;
    }));
  }
  show(JSON.parse(sessionStorage.getItem(kept) || "[]"));
  sessionStorage.removeItem(kept);

  window.addEventListener("beforeunload", (event) => {
    if (!busy) return;
    event.preventDefault();
    event.returnValue = msg("Leave");
    return msg("Leave");
  });

  input.addEventListener("change", async () => {
    const files = Array.from(input.files);
    const problems = [];
    busy = true;
    input.disabled = true;
    for (const [index, file] of files.entries()) {
      const counter = `${index + 1} / ${files.length}: ${file.name}: `;
      if (file.size > Number(input.dataset.maxBytes)) { problems.push(file.name + ": " + msg("TooBig")); continue; }
      bar.value = 0;
      try {
        await window.mendanTus.upload(file, {
          endpoint: input.dataset.endpoint,
          onStatus: (kind, percent) => {
            status.textContent = counter + msg(kind) + (kind === "Hashing" && percent ? " " + percent + "%" : "");
          },
          onProgress: (bytes) => { bar.value = Math.floor((100 * bytes) / file.size); },
        });
      } catch (e) {
        problems.push(file.name + ": " + (e.message === "network" ? msg("Retry") : e.message));
      }
    }
    busy = false;
    sessionStorage.setItem(kept, JSON.stringify(problems));
    window.location.reload();
  });
})();
