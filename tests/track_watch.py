"""Browser tests' view of the camera and microphone: every track a page obtains, and their
states as the page is left (kept in the tab's sessionStorage so that the next page can read them):
"ended" only when the page stopped them itself, since the browser stops them only after leaving."""

from __future__ import annotations

import json

TRACK_WATCH = """(() => {
  const tracks = [];
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    tracks.push(...stream.getTracks());
    return stream;
  };
  window.addEventListener("pagehide", () => {
    if (tracks.length) sessionStorage.setItem("mendan-tracks", JSON.stringify(tracks.map((t) => t.readyState)));
  });
})();"""


def watch_tracks(browser) -> None:
    """Every context made from now on watches its page's tracks."""
    new_context = browser.new_context

    async def watched(*args, **kwargs):
        context = await new_context(*args, **kwargs)
        await context.add_init_script(TRACK_WATCH)
        return context

    browser.new_context = watched


async def track_states(page) -> list[str]:
    """The states ("live" or "ended") of the tracks the tab's previous page held as it was left."""
    return json.loads(await page.evaluate("() => sessionStorage.getItem('mendan-tracks') || '[]'"))
