// A bulk import's videos: each chosen file is sent as the body of its own request, one after the
// other, then the page reloads to show the check again with the videos in place.
(function () {
  const input = document.getElementById("import-video-files");
  if (!input) return;
  const status = document.getElementById("import-video-status");
  function csrf() {
    const found = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    return found ? decodeURIComponent(found.split("=")[1]) : "";
  }
  input.addEventListener("change", async () => {
    const files = Array.from(input.files);
    input.disabled = true;
    for (const [index, file] of files.entries()) {
      status.textContent = `${index + 1} / ${files.length}: ${file.name}`;
      const response = await fetch(`${input.dataset.url}?name=${encodeURIComponent(file.name)}`, {
        method: "POST", body: file, headers: { "X-CSRFToken": csrf(), "Content-Type": "application/octet-stream" },
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        status.textContent = `${file.name}: ${body.detail || response.status}`;
        input.disabled = false;
        return;
      }
    }
    window.location.reload();
  });
})();
