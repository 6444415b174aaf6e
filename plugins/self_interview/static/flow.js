// The self-interview: camera/microphone check, a practice question that is not recorded, then
// per question the avatar reads it aloud (server-made audio, the mouth moving with its timings,
// subtitles always shown), thinking time, the answer recorded with a countdown and a stop button,
// retakes, follow-up questions generated from the answers. Each answer is its own recording,
// sent chunk by chunk through the resumable upload while it is made. Where the interviewee
// stands is the server's: a reload asks it and goes on at the first unanswered question.
(function () {
  "use strict";
  const root = document.getElementById("self-interview");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const msg = (name) => root.dataset["msg" + name];
  const here = root.dataset.here;
  const CHUNK = 4 * 1024 * 1024;
  const TIMESLICE_MS = 1000;
  const PRACTICE = { key: "practice", thinking_s: 5, answer_s: 15 };
  // A short silent WAV: played inside the first tap so that iOS Safari lets this element play later.
  const SILENCE = "data:audio/wav;base64,UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=";
  const si = {
    stream: null, state: null, uploads: [], orphans: (root.dataset.openUploads || "").split(",").filter(Boolean),
    audioPlays: [], mouthOpenings: 0, mouthValues: new Set(), phase: "check", followedUp: new Set(), tapsAsked: 0,
  };
  window.selfInterview = si; // read by the browser tests

  const say = (id, text) => { const el = $(id); if (el) el.textContent = text; };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const show = (id, visible) => { $(id).hidden = !visible; };

  function csrf() {
    const found = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    return found ? decodeURIComponent(found.split("=")[1]) : "";
  }

  async function getJSON(url, options) {
    const response = await fetch(url, options);
    const body = await response.json().catch(() => ({}));
    return { response, body };
  }

  // -- camera and microphone check (as in the live room) --------------------------------------

  const openDevices = window.mendanDeviceCheck({
    holder: si, proceed: "start-button", supported: () => Boolean(window.MediaRecorder), say, msg,
  });

  // -- the avatar ------------------------------------------------------------------------------

  const audio = $("avatar-audio");
  const mouth = $("mouth");
  let mouthTimings = [];

  function openness(t) {
    const found = mouthTimings.find(([start, end]) => t >= start && t < end);
    return found ? found[2] : 0;
  }

  function animateMouth() {
    const value = audio.paused ? 0 : openness(audio.currentTime);
    const ry = (2 + value * 16).toFixed(1);
    if (mouth.getAttribute("ry") !== ry) {
      mouth.setAttribute("ry", ry);
      if (value > 0) { si.mouthOpenings += 1; si.mouthValues.add(ry); }
    }
    requestAnimationFrame(animateMouth);
  }
  requestAnimationFrame(animateMouth);

  (function blink() {
    setTimeout(() => {
      $("avatar").classList.add("blink");
      setTimeout(() => { $("avatar").classList.remove("blink"); blink(); }, 150);
    }, 2000 + Math.random() * 3000);
  })();

  function waitForClick(id) {
    return new Promise((resolve) => $(id).addEventListener("click", () => resolve(id), { once: true }));
  }

  // Plays the line to its end. Where the browser refuses to play without a gesture (or stops the
  // voice, as iOS Safari before 15.6 does when the page scrolls), a button asks for a tap.
  async function askForTap() {
    si.tapsAsked += 1;
    show("tap-to-play", true);
    await waitForClick("tap-to-play");
    show("tap-to-play", false);
  }

  async function playToEnd() {
    for (;;) {
      let started = false; // a pause from the line before (the unlocking silence) is not this one's
      const playing = () => { started = true; };
      const ended = new Promise((resolve) => {
        const done = (event) => {
          if (event.type === "pause" && !started) return;
          audio.removeEventListener("ended", done);
          audio.removeEventListener("pause", done);
          audio.removeEventListener("playing", playing);
          resolve(event.type);
        };
        audio.addEventListener("playing", playing);
        audio.addEventListener("ended", done);
        audio.addEventListener("pause", done);
      });
      try {
        await audio.play();
      } catch (error) {
        await askForTap();
        continue;
      }
      if ((await ended) === "ended" || audio.ended) return;
      await askForTap();
    }
  }

  async function speak(key, fallbackText) {
    say("subtitle", fallbackText || "");
    const { response, body } = await getJSON(`${here}/speech/${encodeURIComponent(key)}`);
    if (!response.ok) return; // the subtitles still say it
    say("subtitle", body.text);
    mouthTimings = body.mouth || [];
    audio.src = body.audio;
    await playToEnd();
    si.audioPlays.push({ key, src: audio.currentSrc, duration: audio.duration });
  }

  // -- countdowns --------------------------------------------------------------------------------

  function countdown(seconds, buttonId) {
    return new Promise((resolve) => {
      const ends = Date.now() + seconds * 1000;
      let timer = null;
      const finish = (how) => { clearInterval(timer); say("countdown", ""); if (buttonId) show(buttonId, false); resolve(how); };
      const tick = () => {
        const left = Math.max(0, Math.ceil((ends - Date.now()) / 1000));
        say("countdown", `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`);
        if (left <= 0) finish("time");
      };
      if (buttonId) { show(buttonId, true); $(buttonId).addEventListener("click", () => finish("button"), { once: true }); }
      tick();
      timer = setInterval(tick, 250);
    });
  }

  // -- recording and upload ----------------------------------------------------------------------

  async function checksum(blob) {
    const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
    return "sha256 " + btoa(String.fromCharCode(...new Uint8Array(digest)));
  }

  async function patch(location, offset, blob, length) {
    const headers = { "Tus-Resumable": "1.0.0", "Upload-Offset": String(offset), "X-CSRFToken": csrf(),
                      "Content-Type": "application/offset+octet-stream", "Upload-Checksum": await checksum(blob) };
    if (length !== undefined) headers["Upload-Length"] = String(length);
    return fetch(location, { method: "PATCH", headers, body: blob });
  }

  async function serverState(location) {
    const response = await fetch(location, { method: "HEAD", headers: { "Tus-Resumable": "1.0.0" } });
    if (!response.ok) throw new Error(String(response.status));
    return { offset: Number(response.headers.get("Upload-Offset")), state: response.headers.get("Upload-State") };
  }

  function moveTo(upload, offset) {
    if (offset > upload.base) {
      upload.queue = upload.queue.slice(offset - upload.base);
      upload.base = offset;
    }
  }

  async function pump(upload) {
    if (upload.sending) return;
    upload.sending = true;
    try {
      while (!upload.done && !upload.failed && (upload.queue.size > 0 || upload.stopped)) {
        const last = upload.stopped && upload.queue.size <= CHUNK;
        const part = upload.queue.slice(0, CHUNK);
        let response = null;
        try {
          response = await patch(upload.location, upload.base, part, last ? upload.base + part.size : undefined);
        } catch (e) { /* the network: resume from the server's offset below */ }
        if (response && response.status === 204) {
          moveTo(upload, Number(response.headers.get("Upload-Offset")));
          upload.done = response.headers.get("Upload-State") === "complete";
          upload.failures = 0;
          continue;
        }
        if (response && ![409, 460].includes(response.status) && response.status < 500) {
          upload.failed = true;
          upload.error = (await response.json().catch(() => ({}))).detail || String(response.status);
          break;
        }
        upload.failures = (upload.failures || 0) + 1;
        say("upload-status", msg("UploadFailed"));
        await sleep(Math.min(10000, 250 * 2 ** upload.failures));
        try {
          const server = await serverState(upload.location);
          moveTo(upload, server.offset);
          upload.done = server.state === "complete";
        } catch (e) { /* still offline */ }
      }
    } finally {
      upload.sending = false;
    }
  }

  const FORMATS = [["video/webm;codecs=vp8,opus", "webm"], ["video/webm", "webm"], ["video/mp4", "mp4"]];

  async function record(step) {
    const [mimeType, extension] = FORMATS.find(([type]) => MediaRecorder.isTypeSupported(type)) || FORMATS[0];
    const { response, body } = await getJSON(root.dataset.uploads, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Tus-Resumable": "1.0.0" },
      body: JSON.stringify({ defer_length: true, question_key: step.key, content_type: `video/${extension}`,
                             filename: `${step.key}-${new Date().toISOString()}.${extension}` }),
    });
    if (!response.ok) throw new Error(body.detail || String(response.status));
    const upload = { key: step.key, id: body.id, location: body.location, queue: new Blob([]), base: 0,
                     stopped: false, done: false, failed: false };
    si.uploads.push(upload);
    const recorder = new MediaRecorder(si.stream, { mimeType, videoBitsPerSecond: 600000 });
    const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
    recorder.ondataavailable = (event) => {
      if (!event.data.size) return;
      upload.queue = new Blob([upload.queue, event.data]);
      pump(upload);
    };
    recorder.start(TIMESLICE_MS);
    si.phase = "recording";
    say("phase", msg("Answering"));
    await countdown(step.answer_s, "stop-button");
    recorder.stop();
    await stopped;
    upload.stopped = true;
    si.phase = "uploading";
    say("phase", "");
    say("upload-status", msg("Uploading"));
    pump(upload);
    while (!upload.done && !upload.failed) {
      await sleep(200);
      if (!upload.sending) pump(upload);
    }
    say("upload-status", upload.done ? msg("Uploaded") : `${msg("UploadFailed")} ${upload.error || ""}`);
    return upload.done;
  }

  async function closeOrphans() {
    // A page that was reloaded or lost left its answer open: keep what reached the server, as it is.
    for (let attempt = 1; si.orphans.length; attempt++) {
      for (const id of si.orphans.splice(0)) {
        const location = root.dataset.uploads + "/" + id;
        try {
          const server = await serverState(location);
          if (server.state !== "uploading" || server.offset === 0) continue;
          const response = await patch(location, server.offset, new Blob([]), server.offset);
          if (response.status !== 204 && response.status >= 500) throw new Error(String(response.status));
        } catch (e) {
          si.orphans.push(id);
        }
      }
      if (si.orphans.length) await sleep(Math.min(10000, 250 * 2 ** attempt));
    }
  }

  // -- the interview -----------------------------------------------------------------------------

  async function loadState() {
    for (let attempt = 1; ; attempt++) {
      try {
        const { response, body } = await getJSON(`${here}/state`);
        if (response.ok) { si.state = body; return body; }
      } catch (e) { /* offline: try again */ }
      await sleep(Math.min(10000, 250 * 2 ** attempt));
    }
  }

  function showProgress() {
    const { current, total } = si.state;
    say("progress", msg("Progress").replace("{n}", String(Math.min(current + 1, total))).replace("{total}", String(total)));
  }

  function showStep(step) {
    const note = $("generated-note");
    note.hidden = !step.generated;
    note.textContent = step.generated ? `${msg("Generated")}: ${step.reason}` : "";
    say("retakes-left", "");
    say("upload-status", "");
  }

  async function practise() {
    si.phase = "practice";
    say("progress", msg("Practice"));
    show("generated-note", false);
    await speak(PRACTICE.key);
    say("phase", msg("Thinking"));
    await countdown(PRACTICE.thinking_s, "answer-now");
    say("phase", msg("Practising"));
    await countdown(PRACTICE.answer_s, "stop-button");
    say("phase", "");
    show("begin-button", true);
    await waitForClick("begin-button");
    show("begin-button", false);
  }

  async function askFollowUps(step) {
    // Ask once per page for each answered question that may have follow-ups; the server makes them once.
    if (step.generated || step.follow_ups === 0 || si.followedUp.has(step.key)) return;
    si.followedUp.add(step.key);
    say("phase", msg("Preparing"));
    const thanks = speak("thanks");
    for (let attempt = 1; ; attempt++) {
      const { response } = await getJSON(`${here}/follow-ups/${encodeURIComponent(step.key)}`,
                                         { method: "POST", headers: { "X-CSRFToken": csrf() } }).catch(() => ({}));
      if (response && response.status === 200) break;
      if (response && response.status !== 202 && response.status < 500) break;
      await sleep(Math.min(2000, 250 * attempt));
    }
    await thanks;
    say("phase", "");
  }

  async function ask(step) {
    si.phase = "asking";
    si.currentKey = step.key;
    showStep(step);
    await speak(step.key, step.text);
    // The next line is voiced on the server while this one is answered, so it is ready at once.
    const next = si.state.steps[si.state.steps.indexOf(step) + 1];
    fetch(`${here}/speech/${encodeURIComponent(next ? next.key : "thanks")}`).catch(() => {});
    show("replay-button", true);
    si.phase = "thinking";
    say("phase", msg("Thinking"));
    await countdown(step.thinking_s, "answer-now");
    show("replay-button", false);
    let retakes = step.retakes_left;
    for (;;) {
      const sent = await record(step);
      if (!sent) { await sleep(1000); continue; }
      if (retakes <= 0) break;
      say("retakes-left", msg("RetakesLeft").replace("{n}", String(retakes)));
      show("retake-button", true);
      show("next-button", true);
      const chosen = await Promise.race([waitForClick("retake-button"), waitForClick("next-button")]);
      show("retake-button", false);
      show("next-button", false);
      if (chosen === "next-button") break;
      retakes -= 1;
    }
    await askFollowUps(step);
  }

  async function run() {
    await closeOrphans();
    let state = await loadState();
    // Answers sent before a reload whose follow-ups may not have been made yet.
    for (const step of state.steps.slice(0, state.current)) {
      if (!step.generated && step.follow_ups > 0 && !state.steps.some((s) => s.key.startsWith(step.key + "."))) {
        await askFollowUps(step);
      }
    }
    for (;;) {
      state = await loadState();
      showProgress();
      if (state.current >= state.total) break;
      await ask(state.steps[state.current]);
    }
    si.phase = "finishing";
    say("subtitle", "");
    say("phase", msg("AllAnswered"));
    show("finish-button", true);
    for (;;) {
      await waitForClick("finish-button");
      const { response, body } = await getJSON(`${here}/finish`, { method: "POST", headers: { "X-CSRFToken": csrf() } });
      if (response.ok) break;
      say("upload-status", body.detail || "");
    }
    si.phase = "done";
    // The camera and microphone go off at once; the thank-you page says what happens next.
    if (si.stream) si.stream.getTracks().forEach((track) => track.stop());
    if (si.audioContext) si.audioContext.close().catch(() => {});
    location.assign(root.dataset.thanks);
  }

  // Spec 4.2.2 (1): leaving before the answers are sent loses them.
  window.addEventListener("beforeunload", (event) => {
    if (si.uploads.every((u) => u.done || u.failed)) return;
    event.preventDefault();
    event.returnValue = msg("Leave");
    return msg("Leave");
  });

  $("replay-button").addEventListener("click", () => { audio.currentTime = 0; audio.play().catch(() => {}); });
  $("tap-to-play").textContent = msg("Tap");
  $("start-button").addEventListener("click", async () => {
    audio.src = SILENCE; // inside the tap: unlocks this element's audio where the browser asks for a gesture
    audio.play().catch(() => {});
    $("check").style.display = "none";
    show("stage", true);
    $("self-view").srcObject = si.stream;
    try {
      const fresh = (await loadState()).current === 0 && !si.orphans.length;
      if (fresh) await practise();
      await run();
    } catch (error) {
      say("upload-status", error.message);
      throw error;
    }
  });

  if (!$("done").hidden) { show("check", false); return; }
  openDevices();
})();
