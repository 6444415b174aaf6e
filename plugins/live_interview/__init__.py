"""live_interview: face-to-face video interviews in the browser (WebRTC), recorded as they happen."""
