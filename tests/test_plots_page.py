"""The page of `dvc plots show` works offline: the committed page template (.dvc/config's
plots.html_template) is what tools/plots_template.py writes from the pinned vl-convert-python, the
commands of docs/plots.md run as written in a fresh shell on a copy of the committed metrics, and the
page they write renders every plot in headless Chromium with no network."""

import importlib.util
import re
import shutil
import subprocess

import browser
import pipeline
import pytest
import yaml
from dvc_render.vega import VegaRenderer
from pipeline import ROOT
from test_readme_commands import code_blocks, commands, fresh_shell_env

pytestmark = pytest.mark.pipeline  # runs stages, DVC or make as processes

DOCS = (ROOT / "docs/plots.md").read_text()
RUNNABLE = [commands(body) for marker, body, _ in code_blocks(DOCS) if marker == "runnable"]
PAGE_COMMANDS = ("make plots", "dvc plots show")  # the lines that write dvc_plots/index.html
NO_BROWSER = "no Chromium on PATH (apt-get install chromium; .ci/run installs it)"


def load_tool():
    spec = importlib.util.spec_from_file_location("plots_template", ROOT / "tools/plots_template.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_committed_template_is_what_the_tool_writes():
    tool = load_tool()
    path = tool.template_path()
    assert path.parent == ROOT / ".dvc" and path.is_file(), f"{path}: run make plots-template"
    assert tool.main(["--check"]) == 0, "the committed template is not current: run make plots-template"
    page = path.read_text(encoding="utf8")
    assert "{plot_divs}" in page
    assert "{scripts}" not in page, "DVC would put its CDN script tags there"
    assert not re.search(r"<script[^>]+src=", page), "every script is inline"
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", str(path)], cwd=ROOT, capture_output=True)
    assert tracked.returncode == 0, f"{path.relative_to(ROOT)} is not committed: a clone's dvc plots show would fail"


def test_docs_plots_marks_its_commands_runnable():
    markers = [line for line in DOCS.splitlines() if line.strip() == "<!-- runnable -->"]
    assert len(markers) == len(RUNNABLE) >= 2, "every marker must stand right above an indented block"
    shown = [line for marker, body, _ in code_blocks(DOCS) if marker != "runnable" for line in body]
    assert not shown, f"a command block that no test runs: {shown}"
    assert any(line in PAGE_COMMANDS for block in RUNNABLE for line in block)


@pytest.fixture(scope="module")
def docs_run(tmp_path_factory):
    """docs/plots.md's blocks run in order, as written, in a fresh shell, in a copy of this checkout
    with its committed metrics: (the copy, {last line of a block meant to write dvc_plots/index.html:
    whether it did})."""
    repo = pipeline.make_tiny_repo(tmp_path_factory.mktemp("plots") / "repo", yaml.safe_load((ROOT / "params.yaml").read_text()))
    tracked = subprocess.run(["git", "ls-files", "-z", "metrics"], cwd=ROOT, capture_output=True, check=True).stdout.decode()
    for rel in filter(None, tracked.split("\0")):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, repo / rel)
    for name in (".venv", ".uv"):
        (repo / name).symlink_to(ROOT / name)
    env, wrote = fresh_shell_env(repo), {}
    for block in RUNNABLE:
        writes_page = any(command in PAGE_COMMANDS for command in block)
        if writes_page:
            shutil.rmtree(repo / "dvc_plots", ignore_errors=True)
        script = "\n".join(["set -eo pipefail", *block])
        result = subprocess.run(["bash", "-c", script], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{block} exited {result.returncode}:\n{(result.stdout + result.stderr)[-4000:]}"
        if writes_page:
            wrote[block[-1]] = (repo / "dvc_plots/index.html").is_file()
    return repo, wrote


def test_docs_plots_commands_run_as_written(docs_run):
    repo, wrote = docs_run
    assert wrote and all(wrote.values()), f"a block that runs one of {PAGE_COMMANDS} did not write dvc_plots/index.html: {wrote}"
    tool = load_tool()
    assert tool.template_path(repo).read_bytes() == tool.template_path().read_bytes(), "make plots-template changed the template"


@pytest.mark.skipif(browser.find() is None, reason=NO_BROWSER)
def test_page_renders_every_plot_offline(docs_run, tmp_path):
    repo, _ = docs_run
    page = repo / "dvc_plots/index.html"
    plots = len(browser.VEGA_DIV.findall(page.read_text(encoding="utf8")))
    images = len(list(repo.glob("metrics/misread/*.png")))
    assert plots >= 3 * len(list(repo.glob("metrics/confusion/*.csv"))) > 0
    report = browser.render(page, tmp_path)
    assert report["requests"] == [] and report["resources"] == [], report
    assert report["errors"] == [], report["errors"]
    assert (report["plots"], report["blank"]) == (plots, []), report
    assert (report["images"], report["broken_images"]) == (images, []), report


@pytest.mark.skipif(browser.find() is None, reason=NO_BROWSER)
def test_browser_check_sees_dvc_default_page_blank_offline(docs_run, tmp_path):
    """The check can fail: one plot of the page with DVC's own scripts (from a CDN) instead."""
    repo, _ = docs_run
    source = (repo / "dvc_plots/index.html").read_text(encoding="utf8")
    start = source.index("<script>(function () {")  # the inline bundle: it holds no "</script"
    end = source.index("</script>", start) + len("</script>")
    head = source[:start] + VegaRenderer.SCRIPTS + source[end : source.index("<body>", end)]
    div = re.search(r'<div id = "[^"]+">\s*<script type = "text/javascript">.*?</script>\s*</div>', source, re.S).group(0)
    page = repo / "dvc_plots/cdn.html"
    page.write_text(f"{head}<body>{div}</body></html>", encoding="utf8")
    report = browser.render(page, tmp_path)
    assert report["requests"] and all("cdn.jsdelivr.net" in url for url in report["requests"]), report
    assert report["plots"] == 1 and len(report["blank"]) == 1, report
    assert any("vegaEmbed is not defined" in error for error in report["errors"]), report


INJECTED = "</script><script>probeErrors.push(/INJECTED/.source)</script>"  # no comma, no quote: one CSV cell


def test_plot_html_is_text_to_the_browser():
    """DVC writes each plot's data into the page unescaped; the template puts all of it inside a
    <plaintext> (nothing after it is markup) that its loader parses inert and rebuilds from."""
    page = load_tool().template()
    assert re.search(r"<plaintext id=\"dvc-plot-divs\" hidden>\s*\{plot_divs\}\s*$", page), "the plots are not the page's last, plain text"
    assert page.index("DOMParser") < page.index("<plaintext")


@pytest.mark.skipif(browser.find() is None, reason=NO_BROWSER)
@pytest.mark.parametrize("cell", [INJECTED, '<img src=x onerror="probeErrors.push(/INJECTED/.source)">'], ids=["script", "onerror"])
def test_markup_in_a_plot_file_never_runs(docs_run, tmp_path, cell):
    repo, _ = docs_run
    csv = repo / "metrics/confusion/lecun1989.csv"
    lines = csv.read_text().splitlines()
    run, actual, _ = lines[1].split(",")
    out = tmp_path / "page"
    try:
        csv.write_text("\n".join([lines[0], f'{run},{actual},"{cell.replace(chr(34), chr(34) * 2)}"', *lines[2:]]) + "\n")
        env = pipeline.env()
        subprocess.run(
            ["dvc", "plots", "show", "metrics/confusion/lecun1989.csv", "-o", str(out)], cwd=repo, env=env, check=True, capture_output=True
        )
    finally:
        csv.write_text("\n".join(lines) + "\n")
    report = browser.render(out / "index.html", tmp_path)
    assert not any("INJECTED" in e for e in report["errors"]), report
    assert report["plots"] == 1 and len(report["blank"]) == 1, report  # refused, not drawn
    dom = browser.chromium(
        (out / "index.html").resolve().as_uri(), tmp_path / "profile2", "--dump-dom", "--virtual-time-budget=5000"
    ).stdout
    assert "refused: a data value of" in dom or "refused: its script is not DVC's Vega plot" in dom, dom[-2000:]
