"""Open a page of `dvc plots show` in headless Chromium with no network and say what rendered.

A probe goes into a copy of the page: before any other script, it records script errors, failed
loads, console errors and (apart) console warnings; on load, after the page's scripts, it waits for every plot and writes
a report into the page, which `--dump-dom` prints once the virtual-time budget is spent. Requests for
the network are refused by a proxy at a closed port, and Chromium's net log names every one the page
made."""

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
VEGA_DIV = re.compile(r"vegaEmbed\('#([^']+)'")  # DVC's plot divs: vegaEmbed('#<id>', spec)
REPORT = re.compile(r'<pre id="probe-report">(.*?)</pre>', re.S)
VIRTUAL_TIME_MS = 20_000  # virtual: the budget passes as fast as the page goes idle

PROBE_HEAD = """<script>
window.probeErrors = [];
window.probeWarnings = [];
addEventListener("error", e => probeErrors.push(e.message || "failed to load " + (e.target.src || e.target.href)), true);
addEventListener("unhandledrejection", e => probeErrors.push("unhandled rejection: " + e.reason));
for (const [level, found] of [["error", probeErrors], ["warn", probeWarnings]]) {
  const original = console[level];
  console[level] = (...args) => { found.push(`console.${level}: ${args.join(" ")}`); original.apply(console, args); };
}
</script>"""

PROBE_BODY = """<script>
const PLOT_IDS = PLOT_IDS_JSON;
function probeRendered(div) {  // Vega-Embed draws one svg.marks or canvas.marks per plot
  const svg = div && div.querySelector("svg.marks"), canvas = div && div.querySelector("canvas.marks");
  if (svg) { const box = svg.getBBox(); return box.width > 0 && box.height > 0 && svg.querySelectorAll("path, line, text").length > 0; }
  if (canvas && canvas.width > 0 && canvas.height > 0) {
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    return pixels.some((value, i) => i % 4 === 3 && value > 0);
  }
  return false;
}
function probeReport(tries) {
  const blank = PLOT_IDS.filter(id => !probeRendered(document.getElementById(id)));
  const images = [...document.images].filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src);
  if ((blank.length || images.length) && tries > 0) return setTimeout(() => probeReport(tries - 1), 100);
  const report = document.createElement("pre");
  report.id = "probe-report";
  report.textContent = JSON.stringify({
    plots: PLOT_IDS.length, blank, images: document.images.length, broken_images: images, errors: probeErrors, warnings: probeWarnings,
    resources: performance.getEntriesByType("resource").map(entry => entry.name).filter(name => !name.startsWith("file:")),
  });
  document.body.append(report);
}
addEventListener("load", () => probeReport(100));
</script>"""


def find() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    """Headless Chromium on url, every network request sent to a closed port, no background traffic."""
    flags = [
        "--headless",
        "--no-sandbox",  # the sandbox refuses to run as root
        "--disable-gpu",
        f"--user-data-dir={profile}",
        "--proxy-server=http://127.0.0.1:9",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ]
    return subprocess.run([find(), *flags, *extra, url], capture_output=True, text=True, timeout=120)


def page_requests(net_log: Path) -> list[str]:
    """The URLs of the network requests that a page made (not Chromium's own: those have no origin)."""
    log = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start and event.get("params", {}).get("initiator", "not an origin") != "not an origin"
    ]


def render(page: Path, scratch: Path) -> dict:
    """Open a copy of page (next to it, so its relative images resolve) and return the probe's report,
    with the net log's page requests under "requests"."""
    source = page.read_text(encoding="utf8")
    ids = VEGA_DIV.findall(source)
    probed = page.with_name("probed-" + page.name)
    # Both probes in the head: the page's plots may sit in a <plaintext> that runs to its end.
    probes = PROBE_HEAD + "\n" + PROBE_BODY.replace("PLOT_IDS_JSON", json.dumps(ids))
    probed.write_text(source.replace("<head>", "<head>\n" + probes, 1), encoding="utf8")
    net_log = scratch / "net-log.json"
    result = chromium(
        probed.resolve().as_uri(),
        scratch / "profile",
        f"--log-net-log={net_log}",
        f"--virtual-time-budget={VIRTUAL_TIME_MS}",
        "--dump-dom",
    )
    found = REPORT.search(result.stdout)
    assert found, f"no probe report in the page Chromium dumped (exit {result.returncode}):\n{result.stderr[-3000:]}"
    return {**json.loads(html.unescape(found.group(1))), "requests": page_requests(net_log)}
