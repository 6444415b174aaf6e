// Live progress for a job page, from the server-sent events stream.
(function () {
  const box = document.getElementById("job");
  if (!box || !window.EventSource) return;
  const states = JSON.parse(box.dataset.states || "{}");
  const source = new EventSource(box.dataset.events);
  source.addEventListener("progress", function (event) {
    const job = JSON.parse(event.data);
    document.getElementById("job-progress").value = job.progress;
    document.getElementById("job-percent").textContent = job.progress;
    const state = document.getElementById("job-state");
    state.textContent = states[job.state] || job.state;
    state.dataset.state = job.state;
    document.getElementById("job-message").textContent = job.message;
    const error = document.getElementById("job-error");
    error.textContent = job.error;
    error.hidden = !job.error;
    const detail = document.getElementById("job-detail");
    document.getElementById("job-detail-text").textContent = job.detail || "";
    detail.hidden = !job.detail;
    if (job.state === "done" || job.state === "failed") source.close();
  });
})();
