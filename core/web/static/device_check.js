// The camera and microphone check every recording page shows before it starts (the live room,
// the self-interview): the device lists, a preview, the microphone's level, and the reason in
// words when the browser refuses. A page calls
//   const openDevices = mendanDeviceCheck({ holder, proceed, supported, say, msg });
// where `holder.stream` receives the MediaStream (and `holder.audioContext` the level meter's
// AudioContext), `proceed` is the id of the button enabled once the devices work, `supported()`
// tells whether the page's own media API exists, and `say(id, text)` / `msg(code)` show a
// message ("Unsupported", "NoPermission", "NoDevice", "DeviceBusy", "Ready") in the page's
// language. It needs the elements #camera-select, #microphone-select, #preview, #level,
// #check-status and #check-button.
(function () {
  "use strict";

  const PROBLEMS = { NotAllowedError: "NoPermission", SecurityError: "NoPermission", NotFoundError: "NoDevice",
                     OverconstrainedError: "NoDevice", NotReadableError: "DeviceBusy", AbortError: "DeviceBusy" };

  window.mendanDeviceCheck = function ({ holder, proceed, supported, say, msg }) {
    const $ = (id) => document.getElementById(id);
    let levelTimer = null;

    async function listDevices() {
      const devices = await navigator.mediaDevices.enumerateDevices();
      const current = (kind) => {
        const track = holder.stream && (kind === "videoinput" ? holder.stream.getVideoTracks() : holder.stream.getAudioTracks())[0];
        return track ? track.getSettings().deviceId : "";
      };
      for (const [kind, id] of [["videoinput", "camera-select"], ["audioinput", "microphone-select"]]) {
        const select = $(id);
        const chosen = current(kind) || select.value;
        select.replaceChildren(...devices.filter((d) => d.kind === kind).map((d, i) => {
          const option = new Option(d.label || `${kind === "videoinput" ? "Camera" : "Microphone"} ${i + 1}`, d.deviceId);
          option.selected = d.deviceId === chosen;
          return option;
        }));
      }
    }

    function showLevel(stream) {
      clearInterval(levelTimer);
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context || !stream.getAudioTracks().length) return;
      const context = holder.audioContext || (holder.audioContext = new Context());
      context.resume().catch(() => {});
      const analyser = context.createAnalyser();
      analyser.fftSize = 1024;
      context.createMediaStreamSource(stream).connect(analyser);
      const samples = new Float32Array(analyser.fftSize);
      levelTimer = setInterval(() => {
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const s of samples) sum += s * s;
        $("level").value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
      }, 100);
    }

    async function openDevices() {
      $(proceed).disabled = true;
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !supported()) {
        say("check-status", msg("Unsupported"));
        return;
      }
      const camera = $("camera-select").value;
      const microphone = $("microphone-select").value;
      if (holder.stream) holder.stream.getTracks().forEach((t) => t.stop());
      holder.stream = null;
      try {
        holder.stream = await navigator.mediaDevices.getUserMedia({
          video: { width: { ideal: 320 }, height: { ideal: 240 }, ...(camera ? { deviceId: { exact: camera } } : {}) },
          audio: microphone ? { deviceId: { exact: microphone } } : true,
        });
      } catch (error) {
        say("check-status", msg(PROBLEMS[error.name] || "NoDevice"));
        return;
      }
      $("preview").srcObject = holder.stream;
      await listDevices();
      showLevel(holder.stream);
      say("check-status", msg("Ready"));
      $(proceed).disabled = false;
    }

    $("check-button").addEventListener("click", openDevices);
    $("camera-select").addEventListener("change", openDevices);
    $("microphone-select").addEventListener("change", openDevices);
    return openDevices;
  };
})();
