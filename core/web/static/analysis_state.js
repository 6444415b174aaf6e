// Keeps an interview page's analysis state current: fetches its fragment until the analysis
// has finished (a separate file: the CSP allows no inline script).
(function () {
  const INTERVAL_MS = 2000;
  function refresh() {
    const box = document.getElementById("analysis-state");
    if (!box || box.dataset.finished === "1") return;
    fetch(box.dataset.src, { headers: { accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html) {
          const next = new DOMParser().parseFromString(html, "text/html").getElementById("analysis-state");
          if (next) box.replaceWith(next);
        }
        setTimeout(refresh, INTERVAL_MS);
      })
      .catch(function () { setTimeout(refresh, INTERVAL_MS); });
  }
  setTimeout(refresh, INTERVAL_MS);
})();
