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
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def template_path(root: Path = ROOT) -> Path:
    """The template's path from .dvc/config (DVC reads a relative one from the .dvc folder)."""
    return root / ".dvc" / ConfigObj(str(root / ".dvc/config"))["plots"]["html_template"]


def template() -> str:
    bundle = vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION)
    for forbidden in (*PLACEHOLDERS, "</script"):
        if forbidden in bundle:  # DVC would fill it in, or the browser would end the script there
            raise SystemExit(f"vl-convert-python's bundle contains {forbidden!r}: it cannot go inline in the page as it is")
    fields = {
        "vega": vl_convert.get_vega_version(),
        "vega_lite": VEGA_LITE_VERSION,
        "vega_embed": vl_convert.get_vega_embed_version(),
        "vl_convert": version("vl-convert-python"),
        "bundle": bundle,
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
