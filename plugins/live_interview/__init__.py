"""live_interview: online video interviews in the browser (WebRTC), recorded as they happen."""
