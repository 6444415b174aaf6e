"""axe-core's accessibility check of a page open in Playwright (issue 20), and the screenshot
beside it.

axe-core is the npm package pinned in tests/a11y/package.json and package-lock.json; scripts/test.sh
installs it (`npm ci --prefix tests/a11y`) when node_modules/ is missing. Its script is evaluated
in the page through the DevTools protocol, which the page's Content-Security-Policy (no inline
script) does not govern: a `<script>` tag added with `page.add_script_tag` would be refused by that
policy, and relaxing it (`bypass_csp`) would hide the violations the `browser` fixture watches for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

AXE_SCRIPT = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
BLOCKING = ("serious", "critical")

RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags}, resultTypes: ["violations", "incomplete"],
  });
  const shape = (v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), html: n.html.slice(0, 200), summary: n.failureSummary})),
  });
  return {violations: results.violations.map(shape), incomplete: results.incomplete.map(shape)};
}"""


async def axe_results(page: Any) -> dict[str, list[dict[str, Any]]]:
    """What axe-core finds in `page` as it is now, checking WCAG 2 A/AA: "violations" and
    "incomplete" (what axe could not decide, for a person to review: a contrast over an image,
    say), each a list of dicts of id, impact ("minor", "moderate", "serious", "critical"), help,
    helpUrl and nodes (target selector, the element's HTML cut to 200 characters, axe's summary).
    Fails the test with the way to install axe-core when its npm package is missing."""
    if not AXE_SCRIPT.exists():
        pytest.fail(f"axe-core is not installed ({AXE_SCRIPT} is missing): run `npm ci --prefix tests/a11y` "
                    "(scripts/test.sh does; it needs node and npm)")
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    return await page.evaluate(RUN_AXE, WCAG_TAGS)


def blocking_report(violations: list[dict[str, Any]]) -> str:
    """The serious and critical violations, one line per element: id, impact, target, help."""
    return "\n".join(f"  {v['id']} ({v['impact']}) at {n['target']}: {v['help']} [{n['html']}]"
                     for v in violations if v["impact"] in BLOCKING for n in v["nodes"])


async def look(page: Any, name: str) -> list[dict[str, Any]]:
    """Save a full-page screenshot of `page` as test-artifacts/NAME.png and axe-core's findings as
    NAME-axe.json, then fail on any serious or critical violation, listing each. Call it once the
    page shows what the test asserted (axe checks the page as it is at that moment). Returns every
    violation (the minor and moderate ones pass)."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    results = await axe_results(page)
    (ARTIFACTS / f"{name}-axe.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    report = blocking_report(results["violations"])
    assert not report, f"axe-core: serious or critical violations on {name} ({page.url}):\n{report}"
    return results["violations"]
