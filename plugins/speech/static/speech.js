// speech: the transcript page (highlight the sentence being played, seek, search) and captions
// tracks on the interview page's recording players. No inline scripts: this file is all.
(function () {
  "use strict";

  // The interview page: each transcribed recording's player gets its WebVTT captions.
  document.querySelectorAll("[data-captions-src]").forEach(function (item) {
    var video = document.getElementById("recording-" + item.dataset.recording);
    if (!video || video.querySelector("track")) return;
    var track = document.createElement("track");
    track.kind = "captions";
    track.src = item.dataset.captionsSrc;
    track.srclang = item.dataset.captionsLang;
    track.label = item.dataset.captionsLabel;
    video.appendChild(track);
  });

  var list = document.getElementById("transcript");
  if (!list) return;
  var video = document.getElementById(list.dataset.player);
  var items = Array.prototype.slice.call(list.querySelectorAll("li[data-start]"));

  function current(time) {
    var found = null;
    items.forEach(function (li) {
      if (parseFloat(li.dataset.start) <= time + 0.05) found = li;
    });
    if (found && time > parseFloat(found.dataset.end) + 1.0) found = null;  // in a pause
    return found;
  }

  if (video) {
    video.addEventListener("timeupdate", function () {
      var now = current(video.currentTime);
      items.forEach(function (li) {
        var on = li === now;
        li.classList.toggle("current", on);
        if (on) li.setAttribute("aria-current", "true"); else li.removeAttribute("aria-current");
      });
    });
    list.addEventListener("click", function (event) {
      var button = event.target.closest("button.seek");
      if (!button) return;
      video.currentTime = parseFloat(button.dataset.start);
      video.play();
    });
  }

  var search = document.getElementById("transcript-search");
  var hits = document.getElementById("transcript-hits");
  if (search) {
    search.addEventListener("input", function () {
      var words = search.value.trim().toLowerCase();
      var count = 0;
      items.forEach(function (li) {
        var match = !words || li.querySelector(".text").textContent.toLowerCase().indexOf(words) >= 0;
        li.hidden = !match;
        li.classList.toggle("match", Boolean(words) && match);
        if (match) count += 1;
      });
      hits.textContent = !words ? "" : !count ? hits.dataset.none
        : count === 1 ? hits.dataset.one : hits.dataset.some.replace("{n}", count);
    });
  }
})();
