// The browser's tus client (tus 1.0.0: creation, checksum) for files the user chose: the whole
// file's SHA-256 is announced at creation, each chunk is sent with PATCH and its own
// `Upload-Checksum`, a dropped connection is retried from the server's offset (HEAD), and the
// upload's address is kept in localStorage so that a reload resumes it instead of starting over.
// Used by the recording page (recording_upload.js) and a bulk import's videos (import_videos.js).
(function () {
  "use strict";

  // SHA-256 over a stream of blocks, so large files are hashed without holding them whole.
  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);

  function Sha256() {
    this.h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                              0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    this.w = new Uint32Array(64);
    this.tail = new Uint8Array(64);
    this.tailLength = 0;
    this.length = 0;
  }
  Sha256.prototype.block = function (bytes, at) {
    const w = this.w, h = this.h;
    for (let i = 0; i < 16; i++) {
      const j = at + i * 4;
      w[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15], b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  };
  Sha256.prototype.update = function (bytes) {
    this.length += bytes.length;
    let i = 0;
    if (this.tailLength) {
      while (this.tailLength < 64 && i < bytes.length) this.tail[this.tailLength++] = bytes[i++];
      if (this.tailLength < 64) return;
      this.block(this.tail, 0);
      this.tailLength = 0;
    }
    for (; i + 64 <= bytes.length; i += 64) this.block(bytes, i);
    while (i < bytes.length) this.tail[this.tailLength++] = bytes[i++];
  };
  Sha256.prototype.hex = function () {
    const bits = this.length * 8;
    const pad = new Uint8Array(((this.tailLength < 56 ? 56 : 120) - this.tailLength) + 8);
    pad[0] = 0x80;
    const view = new DataView(pad.buffer);
    view.setUint32(pad.length - 8, Math.floor(bits / 0x100000000));
    view.setUint32(pad.length - 4, bits >>> 0);
    this.update(pad);
    return Array.from(this.h, (x) => x.toString(16).padStart(8, "0")).join("");
  };

  async function fileSha256(file, onStatus) {
    const hash = new Sha256();
    const step = 4 * 1024 * 1024;
    for (let at = 0; at < file.size; at += step) {
      hash.update(new Uint8Array(await file.slice(at, at + step).arrayBuffer()));
      onStatus("Hashing", Math.floor((100 * Math.min(at + step, file.size)) / file.size));
    }
    return hash.hex();
  }

  function csrf() {
    const found = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    return found ? decodeURIComponent(found.split("=")[1]) : "";
  }

  async function chunkChecksum(blob) {
    const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
    return "sha256 " + btoa(String.fromCharCode(...new Uint8Array(digest)));
  }

  function sendChunk(location, offset, blob, checksum, onSent) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PATCH", location);
      xhr.setRequestHeader("Tus-Resumable", "1.0.0");
      xhr.setRequestHeader("Upload-Offset", String(offset));
      xhr.setRequestHeader("Upload-Checksum", checksum);
      xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
      xhr.setRequestHeader("X-CSRFToken", csrf());
      xhr.upload.onprogress = (e) => onSent(offset + e.loaded);
      xhr.onload = () => resolve(xhr);
      xhr.onerror = () => reject(new Error("network"));
      xhr.send(blob);
    });
  }

  async function serverOffset(location) {
    const response = await fetch(location, { method: "HEAD", headers: { "Tus-Resumable": "1.0.0" } });
    if (!response.ok) throw new Error("gone");
    return Number(response.headers.get("Upload-Offset"));
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // Send `file` to the tus `endpoint`. `fields` join the creation's JSON body (size, sha256,
  // filename and content_type are the file's). `onStatus(kind, percent)` hears "Hashing",
  // "Uploading" and "Retry"; `onProgress(bytes)` how many bytes the server holds or are on their
  // way. Resolves once every byte is in; rejects with the server's message (problem `detail`).
  async function upload(file, { endpoint, fields = {}, onStatus = () => {}, onProgress = () => {} }) {
    const key = "mendan-upload:" + endpoint + ":" + file.name + ":" + file.size + ":" + file.lastModified;
    onStatus("Hashing", 0);
    const sha256 = await fileSha256(file, onStatus);
    let location = localStorage.getItem(key);
    let offset = 0;
    if (location) {
      try { offset = await serverOffset(location); } catch (e) { location = null; }
    }
    if (!location) {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Tus-Resumable": "1.0.0" },
        body: JSON.stringify({ ...fields, size: file.size, sha256, filename: file.name, content_type: file.type }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.detail || String(response.status));
      location = body.location;
      localStorage.setItem(key, location);
    }
    onProgress(offset);
    // About twenty steps per file, between 256 KiB and 8 MiB a chunk.
    const chunk = Math.min(8 * 1024 * 1024, Math.max(256 * 1024, Math.ceil(file.size / 20)));
    onStatus("Uploading");
    let failures = 0;
    while (offset < file.size) {
      const blob = file.slice(offset, offset + chunk);
      let xhr;
      try {
        xhr = await sendChunk(location, offset, blob, await chunkChecksum(blob), onProgress);
      } catch (e) {
        failures += 1;
        if (failures > 8) throw new Error("network");
        onStatus("Retry");
        await sleep(Math.min(30000, 500 * 2 ** failures));
        try { offset = await serverOffset(location); } catch (gone) { /* still offline: try again */ }
        onProgress(offset);
        continue;
      }
      if (xhr.status === 204) {
        offset = Number(xhr.getResponseHeader("Upload-Offset"));
        failures = 0;
        onStatus("Uploading");
        onProgress(offset);
        continue;
      }
      let detail;
      try { detail = JSON.parse(xhr.responseText || "{}").detail; } catch (e) { detail = ""; }
      if (xhr.status === 409 || xhr.status === 460) {
        failures += 1;
        if (failures > 8) throw new Error(detail);
        offset = await serverOffset(location);
        continue;
      }
      localStorage.removeItem(key);
      throw new Error(detail || String(xhr.status));
    }
    localStorage.removeItem(key);
  }

  window.mendanTus = { upload };
})();
