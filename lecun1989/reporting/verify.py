"""Check that the committed numbers still come out: clone HEAD into a temporary folder, run the whole
pipeline there from scratch (`dvc repro`), and compare every metric with the committed ones: exactly
where both sides ran the native engine under one arithmetic contract (compare.comparison), else under
the tolerances of verify/tolerances.yaml; one line says which and why. Prints a table of expected, got
and verdict; exits 1 on any failure and 2 when there is nothing to compare with.

    python -m lecun1989.reporting.verify           # the full pipeline against metrics/*.json        (make verify)
    python -m lecun1989.reporting.verify --quick   # a reduced pipeline against verify/quick-expected (make verify-quick)
    python -m lecun1989.reporting.verify --quick --update   # rewrite verify/quick-expected from a fresh run
    python -m lecun1989.reporting.verify --export metrics    # and keep the fresh run's metrics/ (CI artifacts)
    python -m lecun1989.reporting.verify --quick --exact     # and fail unless the comparison is exact

Only committed files take part: uncommitted changes are not verified (a warning says so).
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from lecun1989 import runtime
from lecun1989.pipeline import readers
from lecun1989.pipeline.atomic import output_dir
from lecun1989.pipeline.errors import run_stage
from lecun1989.reporting.compare import EXACT, compare, comparison, load_tolerances, table

ROOT = Path(__file__).resolve().parents[2]
TOLERANCES = "verify/tolerances.yaml"
QUICK_PARAMS = "verify/quick-params.yaml"  # a JSON merge patch (RFC 7386) on params.yaml
EXPECTED = {"full": "metrics", "quick": "verify/quick-expected"}


class Refused(Exception):
    """Nothing to verify against: exit 2."""


def git(*args) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def merge_patch(target, patch):
    """RFC 7386: dicts merge key by key, null deletes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def read_metrics(folder: Path) -> dict[str, dict]:
    """{variant: metrics} of the top-level *.json files of a metrics folder."""
    return {path.stem: read(path, readers.json_file) for path in sorted(folder.glob("*.json"))}


def read(path: Path, reader):
    """reader(path), or Refused naming the file and why it cannot be read."""
    try:
        return reader(path)
    except readers.Unreadable as e:
        raise Refused(f"{path} cannot be read ({e}): restore it from git or rerun the pipeline") from None


def lock_digests(lock_text: str) -> dict[str, str]:
    """{output path: md5} of every stage output recorded in a dvc.lock."""
    try:
        stages = (readers.parse_yaml("dvc.lock", lock_text.encode()) or {}).get("stages", {})
    except readers.Unreadable as e:
        raise Refused(f"dvc.lock cannot be read ({e}): restore it (git checkout dvc.lock)") from None
    return {out["path"]: out.get("md5", "") for stage in stages.values() for out in stage.get("outs", [])}


def digest_mismatches(expected: dict[str, str], got: dict[str, str]) -> list[str]:
    return [
        f"{path}: expected {expected.get(path, '-')}, got {got.get(path, '-')}"
        for path in sorted(set(expected) | set(got))
        if expected.get(path) != got.get(path)
    ]


def clone_head(dest: Path) -> str:
    sha = git("rev-parse", "HEAD")
    if git("status", "--porcelain", "--untracked-files=no"):
        print(f"verify: warning: uncommitted changes are not verified; checking commit {sha[:12]}", file=sys.stderr)
    # --no-checkout then checkout of the sha: a clone of a worktree would otherwise check out another branch.
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(dest)], check=True)
    subprocess.run(["git", "checkout", "--quiet", "--detach", sha], cwd=dest, check=True)
    return sha


def repro(repo: Path) -> None:
    env = runtime.subprocess_env(Path(sys.executable).parent)
    # stdout to stderr: the table is this command's only standard output.
    subprocess.run(["dvc", "repro"], cwd=repo, env=env, check=True, stdout=sys.stderr)


def this_compiler() -> str:
    """Which compiler built this run's native engine (information: the records name the contract only)."""
    from lecun1989.training.native import build

    return f"; this run's compiler: {build.compiler_banner()}"


def verify(mode: str, update: bool, keep: bool, export: Path | None = None, require_exact: bool = False) -> int:
    workdir = Path(tempfile.mkdtemp(prefix=f"lecun1989-verify-{mode}-"))
    try:
        clone = workdir / "repo"
        sha = clone_head(clone)
        expected = read_metrics(clone / EXPECTED[mode])
        if not expected and not update:
            raise Refused(
                f"{EXPECTED[mode]}/ holds no committed metrics (*.json) at commit {sha[:12]}: there is nothing to verify "
                + (
                    "against; run the full pipeline (make repro) and commit metrics/ first"
                    if mode == "full"
                    else "against; run make verify-quick-update and commit verify/quick-expected/"
                )
            )
        lock = clone / ("dvc.lock" if mode == "full" else f"{EXPECTED[mode]}/dvc.lock")
        expected_digests = lock_digests(lock.read_text()) if lock.is_file() else {}
        # From scratch: the committed outputs and lock go, so every number compared comes from this run.
        shutil.rmtree(clone / "metrics", ignore_errors=True)
        (clone / "dvc.lock").unlink(missing_ok=True)
        if mode == "quick":
            params = read(clone / "params.yaml", readers.yaml_file)
            patched = merge_patch(params, read(clone / QUICK_PARAMS, readers.yaml_file))
            (clone / "params.yaml").write_text(yaml.safe_dump(patched, sort_keys=False))
        print(f"verify: running the {mode} pipeline of commit {sha[:12]} in {clone}", file=sys.stderr, flush=True)
        repro(clone)
        got = read_metrics(clone / "metrics")
        if export is not None:
            with output_dir(export) as scratch:  # replaced whole, or left as it was
                shutil.copytree(clone / "metrics", scratch, dirs_exist_ok=True)
            print(f"verify: the reproduced metrics/ folder is now {export}", file=sys.stderr)
        if update:
            out = ROOT / EXPECTED[mode]
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            for path in sorted((clone / "metrics").glob("*.json")):  # what `dvc metrics show` reads
                shutil.copy(path, out / path.name)
            shutil.copy(clone / "dvc.lock", out / "dvc.lock")  # every output's digest, for the exact comparison
            print(f"verify: wrote {len(got)} expected metrics files to {out.relative_to(ROOT)}/; review and commit them")
            return 0
        exact, why = comparison(expected, got)
        print(f"verify: comparing {'exactly' if exact else f'under {TOLERANCES}'}: {why}{this_compiler() if exact else ''}")
        rows = compare(expected, got, [EXACT] if exact else load_tolerances(clone / TOLERANCES, mode))
        print(table(rows))
        failed = sum(not row.ok for row in rows)
        if exact:  # and every output file, by its digest in dvc.lock
            mismatches = digest_mismatches(expected_digests, lock_digests((clone / "dvc.lock").read_text()))
            print(
                f"\noutput digests against {lock.relative_to(clone)}: "
                + ("all equal" if not mismatches else "\n  ".join(["differ:", *mismatches]))
            )
            failed += len(mismatches) + (not expected_digests)
        how = "exactly (one arithmetic contract made both)" if exact else f"under {TOLERANCES} (no one arithmetic contract made both)"
        print(
            f"\nverify {mode}, commit {sha[:12]}, compared {how}: "
            + (f"FAILED, {failed} of {len(rows)} metrics" if failed else f"all {len(rows)} metrics match")
        )
        if require_exact and not exact:
            print(f"verify: FAILED: --exact, and the comparison was not exact ({why})")
            return 1
        return 1 if failed else 0
    finally:
        if keep:
            print(f"verify: kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"the reduced pipeline of {QUICK_PARAMS}")
    parser.add_argument("--update", action="store_true", help="write the expected metrics instead of comparing (with --quick)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone for inspection")
    parser.add_argument(
        "--export", type=Path, metavar="DIR", help="replace DIR with the fresh run's metrics/ folder (e.g. metrics, for dvc metrics diff)"
    )
    parser.add_argument("--exact", action="store_true", help="fail unless the comparison is exact (both sides ran one arithmetic contract)")
    args = parser.parse_args(argv)
    if args.update and not args.quick:
        parser.error("--update only rewrites the quick expected metrics; the full ones are the committed metrics/ of a real run")
    try:
        return verify("quick" if args.quick else "full", args.update, args.keep, args.export, args.exact)
    except Refused as e:
        print(f"verify: {e}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as e:
        print(f"verify: {' '.join(map(str, e.cmd))} exited {e.returncode}: the pipeline did not complete", file=sys.stderr)
        return 1


if __name__ == "__main__":
    run_stage(lambda argv: sys.exit(main(argv)))  # anything else unexpected: one line, no traceback
