"""Write the page template of `dvc plots show`, the file that plots.html_template in .dvc/config names:
DVC's own template loads Vega, Vega-Lite and Vega-Embed from a CDN, so that offline its page is blank;
this one holds them inline, from the bundle that vl-convert-python (pinned in uv.lock) ships.
`make plots-template` runs it; `--check` only says whether the committed template is what it writes.

The template is committed rather than written by `make venv`: a clone's `dvc plots show` then works
with any dvc, even one installed outside .venv, and the page does not depend on a build step having
run (DVC reads a missing template's path as the template itself and fails with "HTML template has to
contain '{plot_divs}'"). tests/test_plots_page.py checks that it is current.
"""

import argparse
import sys
from importlib.metadata import version
from pathlib import Path

import vl_convert
from configobj import ConfigObj

from lecun1989.pipeline.atomic import write_bytes

ROOT = Path(__file__).resolve().parents[1]
# The newest Vega-Lite that vl-convert-python bundles: it compiles to the Vega (6) that the bundle runs;
# DVC's Vega-Lite v5 specs compile unchanged (Vega-Embed warns in the console that they say v5).
VEGA_LITE_VERSION = "6.4"
PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")  # DVC replaces these anywhere in the page

# DVC writes each plot into the page as HTML with its data inline (a Vega spec in a <script>, an image
# title in a <p>), unescaped: a data file holding "</script><script>..." would run in the browser. So
# the page never parses that part as HTML: it is the text of a <plaintext> element (nothing after it
# is markup), which this loader parses inert (DOMParser runs no script, loads no image) and rebuilds
# from, element by element, only what DVC writes: divs, titles as text, images by relative path or
# data URL, and for each Vega plot a spec that parses as JSON whose data values are numbers or plain
# strings. Anything else is refused in the page, by plot, with one line naming it.
LOADER = """<script>
(function () {
  const PLAIN = /^[^<>&"'`\\u0000-\\u001f]*$/;
  const SPEC = /^\\s*var spec = ([\\s\\S]*);\\s*vegaEmbed\\('#([A-Za-z0-9_-]+)', spec\\);\\s*$/;
  function refuse(where, why) {
    const p = document.createElement("p");
    p.className = "refused";
    p.textContent = `plot ${where} refused: ${why}; regenerate its file (dvc repro) and run dvc plots show again`;
    return p;
  }
  function checkValues(rows, where) {
    for (const row of Array.isArray(rows) ? rows : []) {
      for (const [key, value] of Object.entries(row)) {
        const ok = v => v === null || typeof v === "number" || typeof v === "boolean" || (typeof v === "string" && PLAIN.test(v));
        if (!PLAIN.test(key) || !ok(value)) throw new Error(`a data value of ${where} is not a number or plain text: ${JSON.stringify(value).slice(0, 60)}`);
      }
    }
  }
  function vegaSpec(script, id) {
    const found = SPEC.exec(script.textContent);
    if (!found || found[2] !== id) throw new Error("its script is not DVC's Vega plot (cut short or changed)");
    const spec = JSON.parse(found[1]);
    checkValues(spec.data && spec.data.values, id);
    for (const rows of Object.values(spec.datasets || {})) checkValues(rows, id);
    return spec;
  }
  function rebuild(node, plots, id) {  // a copy of what DVC writes, from nodes no script has touched
    if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.textContent);
    if (node.nodeType !== Node.ELEMENT_NODE) return document.createTextNode("");
    const tag = node.tagName.toLowerCase();
    if (tag === "script") { plots.push(vegaSpec(node, id)); return document.createTextNode(""); }
    if (!["div", "p", "img"].includes(tag)) throw new Error(`it holds a <${tag}> element, which DVC never writes`);
    const copy = document.createElement(tag);
    if (node.id && /^[A-Za-z0-9_-]+$/.test(node.id)) copy.id = node.id;
    if (tag === "div" && node.hasAttribute("style")) copy.setAttribute("style", node.getAttribute("style"));
    if (tag === "img") {
      const src = node.getAttribute("src") || "";
      if (!/^(data:image[;\\/][A-Za-z0-9+\\/=;,]*|[A-Za-z0-9_.\\/ -]+)$/.test(src)) throw new Error("an image source that is not a file of the page's folder");
      copy.src = src;
    }
    for (const child of node.childNodes) copy.append(rebuild(child, plots, id));
    return copy;
  }
  addEventListener("DOMContentLoaded", () => {
    const source = document.getElementById("dvc-plot-divs");
    if (!source) return;
    const parsed = new DOMParser().parseFromString(source.textContent, "text/html");
    source.remove();
    for (const div of [...parsed.body.children]) {
      const id = /^[A-Za-z0-9_-]+$/.test(div.id) ? div.id : "(unnamed)";
      const plots = [];
      let copy;
      try { copy = rebuild(div, plots, id); } catch (e) { document.body.append(refuse(id, e.message)); continue; }
      document.body.append(copy);
      const options = window.vega && vega.expressionInterpreter ? {ast: true, expr: vega.expressionInterpreter} : {};
      for (const spec of plots) vegaEmbed(copy, spec, options).catch(e => copy.append(refuse(id, e.message)));
    }
  });
})();
</script>"""

PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {refresh_tag}
    <title>lecun1989 plots</title>
    <!-- Written by tools/plots_template.py (make plots-template); do not edit by hand.
         Inline: Vega {vega}, Vega-Lite {vega_lite} and Vega-Embed {vega_embed} (BSD-3-Clause, University of
         Washington Interactive Data Lab) with the packages they depend on, as bundled by
         vl-convert-python {vl_convert} (BSD-3-Clause). -->
    <script>(function () {
{bundle}
})();</script>
    {loader}
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
<plaintext id="dvc-plot-divs" hidden>
    {plot_divs}
"""


def template_path(root: Path = ROOT) -> Path:
    """The template's path from .dvc/config (DVC reads a relative one from the .dvc folder)."""
    return root / ".dvc" / ConfigObj(str(root / ".dvc/config"))["plots"]["html_template"]


def template() -> str:
    bundle = vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION)
    for forbidden in (*PLACEHOLDERS, "</script", "</plaintext"):
        if forbidden in bundle:  # DVC would fill it in, or the browser would end the script there
            raise SystemExit(f"vl-convert-python's bundle contains {forbidden!r}: it cannot go inline in the page as it is")
    fields = {
        "vega": vl_convert.get_vega_version(),
        "vega_lite": VEGA_LITE_VERSION,
        "vega_embed": vl_convert.get_vega_embed_version(),
        "vl_convert": version("vl-convert-python"),
        "bundle": bundle,
        "loader": LOADER,
    }
    page = PAGE
    for name, value in fields.items():  # str.replace, not format: the page's CSS and DVC's placeholders keep their braces
        page = page.replace("{" + name + "}", value)
    return page


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the committed template is not current")
    args = parser.parse_args(argv)
    path, page = template_path(), template()
    if args.check:
        if not path.is_file() or path.read_text(encoding="utf8") != page:
            print(f"{path.relative_to(ROOT)} is not what tools/plots_template.py writes: run make plots-template", file=sys.stderr)
            return 1
        return 0
    write_bytes(path, page.encode("utf8"))
    print(f"wrote {path.relative_to(ROOT)} ({len(page.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
