// The live room: camera/microphone check, WebRTC between interviewer and interviewee with
// signalling over a WebSocket, and the interviewee's recording uploaded chunk by chunk.
// The interviewer always makes the offer, so the two sides never offer at once; after a
// network blip the socket reopens and the interviewer calls again, while the recorder
// keeps running and its chunks wait in the upload queue.
(function () {
  "use strict";
  const root = document.getElementById("live-room");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const msg = (name) => root.dataset["msg" + name];
  const role = root.dataset.role;
  const CHUNK = 4 * 1024 * 1024;
  const TIMESLICE_MS = 1000;
  const room = {
    role, stream: null, socket: null, pc: null, peer: false, ended: false, iceServers: [],
    recorder: null, segments: [], orphans: (root.dataset.openSegments || "").split(",").filter(Boolean),
    pendingCandidates: [],
  };
  window.liveRoom = room; // read by the browser tests

  const say = (id, text) => { const el = $(id); if (el) el.textContent = text; };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function csrf() {
    const found = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    return found ? decodeURIComponent(found.split("=")[1]) : "";
  }

  // -- camera and microphone check ------------------------------------------------------

  const openDevices = window.mendanDeviceCheck({
    holder: room, proceed: "join-button", supported: () => Boolean(window.RTCPeerConnection), say, msg,
  });

  $("join-button").addEventListener("click", () => {
    // The check's card style would show it through `hidden`.
    $("check").style.display = "none";
    $("room").hidden = false;
    $("local-video").srcObject = room.stream;
    connect();
  });

  // -- signalling -------------------------------------------------------------------------

  let backoff = 500;
  let inbox = Promise.resolve();

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + root.dataset.here + "/signal");
    room.socket = socket;
    socket.onmessage = (event) => {
      // In order: an ICE candidate must not overtake the offer it belongs to.
      inbox = inbox.then(() => handle(JSON.parse(event.data))).catch((e) => console.error(e));
    };
    socket.onclose = (event) => {
      if (room.socket !== socket) return;
      room.socket = null;
      if (room.ended) return;
      if (event.code === 4403) { say("room-status", msg("Refused")); return; }
      if (event.code === 4409) { say("room-status", msg("Replaced")); return; }
      say("room-status", msg("Reconnecting"));
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 5000);
    };
  }

  function send(message) {
    if (room.socket && room.socket.readyState === WebSocket.OPEN) room.socket.send(JSON.stringify(message));
  }

  async function handle(m) {
    if (m.type === "welcome") {
      backoff = 500;
      room.iceServers = m.ice_servers || [];
      room.peer = m.peer;
      say("room-status", m.peer ? msg("Connected") : msg("Waiting"));
      if (role === "interviewer") { controls(); if (m.peer) await call(); }
      if (role === "interviewee") { if (m.recording) await startRecording(); progress(); }
    } else if (m.type === "peer") {
      room.peer = m.present;
      if (!m.present) { closePeer(); say("room-status", msg("Waiting")); }
      if (m.present && role === "interviewer") await call();
      if (m.present && role === "interviewee") progress();
      controls();
    } else if (m.type === "signal") {
      await onSignal(m.data || {});
    } else if (m.type === "control" && role === "interviewee") {
      if (m.action === "start-recording") await startRecording();
      if (m.action === "stop-recording") await stopRecording();
    } else if (m.type === "recording" && role === "interviewer") {
      room.recording = m.state === "started";
      say("recording-status", room.recording ? msg("RecordingPeer") : msg("Uploading"));
      controls();
    } else if (m.type === "progress" && role === "interviewer") {
      showProgress(m.sent, m.recorded);
      room.recording = m.state === "recording";
      say("recording-status", { recording: msg("RecordingPeer"), complete: msg("UploadDone"),
                                failed: msg("UploadFailed"), uploading: msg("Uploading"),
                                idle: msg("NotRecording") }[m.state] || "");
      controls();
    } else if (m.type === "ended") {
      room.ended = true;
      say("room-status", msg("Ended"));
      closePeer();
      if (room.socket) room.socket.close();
      releaseDevices();
      if (role === "interviewee") location.assign(root.dataset.thanks);
    }
  }

  // The end: the camera and microphone go off at once, not when the tab closes.
  function releaseDevices() {
    if (room.stream) room.stream.getTracks().forEach((track) => track.stop());
    if (room.audioContext) room.audioContext.close().catch(() => {});
  }

  // -- WebRTC -------------------------------------------------------------------------------

  function closePeer() {
    if (room.pc) { room.pc.onicecandidate = null; room.pc.ontrack = null; room.pc.close(); }
    room.pc = null;
    room.pendingCandidates = [];
  }

  function newPeer() {
    closePeer();
    const pc = new RTCPeerConnection({ iceServers: room.iceServers });
    room.pc = pc;
    room.stream.getTracks().forEach((track) => pc.addTrack(track, room.stream));
    pc.ontrack = (event) => {
      const video = $("remote-video");
      if (video.srcObject !== event.streams[0]) video.srcObject = event.streams[0];
    };
    pc.onicecandidate = (event) => {
      if (event.candidate) send({ type: "signal", data: { candidate: event.candidate.toJSON() } });
    };
    pc.onconnectionstatechange = () => {
      if (room.pc !== pc) return;
      if (pc.connectionState === "connected") say("room-status", msg("Connected"));
      if (pc.connectionState === "failed" && role === "interviewer" && room.peer) call();
    };
    return pc;
  }

  async function call() {
    const pc = newPeer();
    await pc.setLocalDescription(await pc.createOffer());
    send({ type: "signal", data: { description: pc.localDescription.toJSON() } });
  }

  async function addCandidates() {
    for (const candidate of room.pendingCandidates.splice(0)) await room.pc.addIceCandidate(candidate).catch(() => {});
  }

  async function onSignal(data) {
    if (data.description && data.description.type === "offer") {
      const pc = newPeer(); // every offer is a fresh call: the other side may have reloaded
      await pc.setRemoteDescription(data.description);
      await pc.setLocalDescription(await pc.createAnswer());
      send({ type: "signal", data: { description: pc.localDescription.toJSON() } });
      await addCandidates();
    } else if (data.description && room.pc) {
      await room.pc.setRemoteDescription(data.description);
      await addCandidates();
    } else if (data.candidate && room.pc) {
      room.pendingCandidates.push(data.candidate);
      if (room.pc.remoteDescription) await addCandidates();
    }
  }

  // -- recording and upload (interviewee) ---------------------------------------------------

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
    // Gone: the interviewer ended the interview without it, or it expired; nothing more to send.
    if (response.status === 410 || response.status === 404) return { offset: 0, state: "gone" };
    if (!response.ok) throw new Error(String(response.status));
    return { offset: Number(response.headers.get("Upload-Offset")), state: response.headers.get("Upload-State") };
  }

  function moveTo(segment, offset) {
    // The server holds everything before `offset`: drop it from the queue.
    if (offset > segment.base) {
      segment.queue = segment.queue.slice(offset - segment.base);
      segment.base = offset;
    }
  }

  async function pump(segment) {
    if (segment.sending) return;
    segment.sending = true;
    try {
      while (!segment.done && !segment.failed && (segment.queue.size > 0 || segment.stopped)) {
        const last = segment.stopped && segment.queue.size <= CHUNK;
        const part = segment.queue.slice(0, CHUNK);
        let response = null;
        try {
          response = await patch(segment.location, segment.base, part, last ? segment.base + part.size : undefined);
        } catch (e) { /* the network: resume from the server's offset below */ }
        if (response && response.status === 204) {
          moveTo(segment, Number(response.headers.get("Upload-Offset")));
          segment.done = response.headers.get("Upload-State") === "complete";
          segment.failures = 0;
          progress();
          continue;
        }
        if (response && ![409, 460].includes(response.status) && response.status < 500) {
          segment.failed = true;
          break;
        }
        segment.failures = (segment.failures || 0) + 1;
        say("recording-status", msg("UploadFailed"));
        await sleep(Math.min(10000, 250 * 2 ** segment.failures));
        try {
          const server = await serverState(segment.location);
          if (server.state === "gone") { segment.failed = true; break; }
          moveTo(segment, server.offset);
          segment.done = server.state === "complete";
        } catch (e) { /* still offline */ }
      }
    } finally {
      segment.sending = false;
    }
    progress();
  }

  // WebM where the browser records it (Chrome, Edge, Android); MP4 on Safari.
  const FORMATS = [["video/webm;codecs=vp8,opus", "webm"], ["video/webm", "webm"], ["video/mp4", "mp4"]];

  async function newUpload(extension) {
    const response = await fetch(root.dataset.uploads, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Tus-Resumable": "1.0.0" },
      body: JSON.stringify({ defer_length: true, filename: `live-${new Date().toISOString()}.${extension}`,
                             content_type: `video/${extension}` }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || String(response.status));
    return body;
  }

  async function startRecording() {
    if (room.recorder || room.starting) return;
    room.starting = true;
    try {
      const [mimeType, extension] = FORMATS.find(([type]) => MediaRecorder.isTypeSupported(type)) || FORMATS[0];
      const upload = await newUpload(extension);
      const segment = { id: upload.id, location: upload.location, queue: new Blob([]), base: 0, recorded: 0,
                        stopped: false, done: false, failed: false, seconds: 0 };
      const recorder = new MediaRecorder(room.stream, { mimeType, videoBitsPerSecond: 600000 });
      recorder.ondataavailable = (event) => {
        if (!event.data.size) return;
        segment.queue = new Blob([segment.queue, event.data]);
        segment.recorded += event.data.size;
        pump(segment);
      };
      recorder.onstop = () => {
        segment.seconds = (performance.now() - segment.startedAt) / 1000;
        segment.stopped = true;
        room.recorder = null;
        send({ type: "recording", state: "stopped", recording_id: segment.id });
        pump(segment);
      };
      room.segments.push(segment);
      room.recorder = recorder;
      recorder.start(TIMESLICE_MS);
      segment.startedAt = performance.now();
      send({ type: "recording", state: "started", recording_id: segment.id });
      say("recording-status", msg("Recording"));
      progress();
    } catch (error) {
      say("recording-status", msg("UploadFailed") + " " + error.message);
    } finally {
      room.starting = false;
    }
  }

  async function closeOrphans() {
    // A page that crashed left its segment open: keep what reached the server, as it is.
    for (let attempt = 1; room.orphans.length; attempt++) {
      for (const id of room.orphans.splice(0)) {
        const location = root.dataset.uploads + "/" + id;
        try {
          const server = await serverState(location);
          if (server.state !== "uploading" || server.offset === 0) continue;
          const response = await patch(location, server.offset, new Blob([]), server.offset);
          if (response.status !== 204 && response.status >= 500) throw new Error(String(response.status));
        } catch (e) {
          room.orphans.push(id);
        }
      }
      if (room.orphans.length) await sleep(Math.min(10000, 250 * 2 ** attempt));
    }
    progress();
  }

  async function stopRecording() {
    if (!room.recorder) return;
    say("recording-status", msg("Uploading"));
    if (room.recorder.state !== "inactive") room.recorder.stop();
    await closeOrphans();
  }

  function uploadState() {
    if (room.recorder) return "recording";
    if (!room.segments.length) return "idle";
    if (room.segments.some((s) => s.failed)) return "failed";
    return room.segments.every((s) => s.done) && !room.orphans.length ? "complete" : "uploading";
  }

  function showProgress(sent, recorded) {
    $("upload-progress").max = Math.max(recorded, 1);
    $("upload-progress").value = sent;
    say("upload-bytes", `${(sent / 1048576).toFixed(1)} / ${(recorded / 1048576).toFixed(1)} MB ${msg("Sent")}`);
  }

  function progress() {
    if (role !== "interviewee") return;
    const sent = room.segments.reduce((n, s) => n + s.base, 0);
    const recorded = room.segments.reduce((n, s) => n + s.recorded, 0);
    const state = uploadState();
    showProgress(sent, recorded);
    say("recording-status", { recording: msg("Recording"), complete: msg("UploadDone"), failed: msg("UploadFailed"),
                              uploading: msg("Uploading"), idle: msg("NotRecording") }[state]);
    send({ type: "progress", sent, recorded, state });
  }

  // Spec 4.2.2 (1): leaving before the recording is sent loses it.
  window.addEventListener("beforeunload", (event) => {
    if (role !== "interviewee" || ["idle", "complete"].includes(uploadState())) return;
    event.preventDefault();
    event.returnValue = msg("Leave");
    return msg("Leave");
  });

  // -- the interviewer's controls, question timers and evaluation ---------------------------

  function controls() {
    if (role !== "interviewer") return;
    $("start-recording").disabled = !room.peer || room.recording;
    $("stop-recording").disabled = !room.peer || !room.recording; // the stop must reach the recorder
    $("end-interview").disabled = Boolean(room.ending);
  }

  // Ending stops the recording and waits while its upload makes progress (the server answers
  // 409 `waiting`); an upload that stopped, or no recording at all, needs "End anyway".
  async function endInterview(anyway) {
    if (room.ending) return;
    room.ending = true;
    $("end-anyway").hidden = true;
    controls();
    try {
      if (room.recording) send({ type: "control", action: "stop-recording" });
      for (;;) {
        const response = await fetch(root.dataset.here + "/end" + (anyway ? "?anyway=1" : ""),
                                     { method: "POST", headers: { "X-CSRFToken": csrf() } });
        const body = await response.json();
        if (response.ok) { room.ended = true; releaseDevices(); location.assign(body.next); return; }
        say("end-status", body.detail);
        if (response.status === 409 && body.waiting) { await sleep(2000); continue; }
        if (response.status === 409) $("end-anyway").hidden = false;
        return;
      }
    } finally {
      room.ending = false;
      controls();
    }
  }

  if (role === "interviewer") {
    $("start-recording").addEventListener("click", () => {
      send({ type: "control", action: "start-recording" });
      $("start-recording").disabled = true;
    });
    $("stop-recording").addEventListener("click", () => {
      send({ type: "control", action: "stop-recording" });
      $("stop-recording").disabled = true;
    });
    $("end-interview").addEventListener("click", () => endInterview(false));
    $("end-anyway").addEventListener("click", () => endInterview(true));
    // The upload's truth is the server's: asked now and then, in case the interviewee's page is gone.
    setInterval(async () => {
      if (room.ended || room.recording) return;
      const response = await fetch(root.dataset.here + "/status");
      if (response.ok && (await response.json()).done) say("recording-status", msg("UploadDone"));
    }, 5000);

    let ticking = null;
    document.querySelectorAll("#questions li").forEach((item) => {
      item.querySelector(".question-timer").addEventListener("click", () => {
        clearInterval(ticking);
        document.querySelectorAll("#questions li").forEach((li) => li.classList.remove("current", "overtime"));
        item.classList.add("current");
        const ends = Date.now() + Number(item.dataset.limit) * 1000;
        const shown = item.querySelector(".question-remaining");
        const tick = () => {
          const left = Math.round((ends - Date.now()) / 1000);
          const abs = Math.abs(left);
          shown.textContent = `${left < 0 ? "-" : ""}${Math.floor(abs / 60)}:${String(abs % 60).padStart(2, "0")}`;
          item.classList.toggle("overtime", left < 0);
        };
        tick();
        ticking = setInterval(tick, 1000);
      });
    });

    $("evaluation-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const response = await fetch(form.action, {
        method: "POST", headers: { "X-CSRFToken": csrf() }, body: new URLSearchParams(new FormData(form)),
      });
      const body = await response.json();
      say("evaluation-status", response.ok ? msg("Saved") : body.detail);
    });
  }

  openDevices();
})();
