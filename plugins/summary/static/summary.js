// summary: loads the interview's summary into its panel (a fragment, so the page never waits for it
// and service hours are the summary's own), and plays the recording from a sentence's second.
(function () {
  "use strict";
  document.querySelectorAll("[data-summary-src]").forEach(function (panel) {
    function say(text) {
      var p = document.createElement("p");
      p.textContent = text;
      panel.replaceChildren(p);
    }
    fetch(panel.dataset.summarySrc, {headers: {accept: "text/html"}, credentials: "same-origin"})
      .then(function (response) {
        if (response.status === 503) { say(panel.dataset.closed); return; }
        if (!response.ok) { say(panel.dataset.failed); return; }
        return response.text().then(function (html) {
          panel.innerHTML = html;  // the server's own escaped fragment
          panel.dataset.loaded = "true";
        });
      })
      .catch(function () { say(panel.dataset.failed); });

    panel.addEventListener("click", function (event) {
      var button = event.target.closest("button.summary-play");
      if (!button) return;
      var video = document.getElementById("recording-" + button.dataset.recording);
      if (!video) return;
      video.currentTime = parseFloat(button.dataset.start);
      video.scrollIntoView({behavior: "smooth", block: "center"});
      video.play();
    });
  });
})();
