"""Check that a release wheel ships the production build of the JupyterLab extension, even
when a development build (source maps, unminified) is lying in codeact_jupyter/labextension.

Not a test (it builds a wheel: a minute or two, and pip fetches the build requirements):

    python bench/check_wheel_extension.py [--no-dev-build]

It runs `jlpm build` (development) first, then `python -m build --wheel` into a temporary
folder, and reads the wheel: no source maps, no development build, the production marker;
and the package data `codeact eval` and the quickstart read (the task suite, the replays).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = "codeact_jupyter-0.1.0.data/data/share/jupyter/labextensions/codeact-jupyter/"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-dev-build", action="store_true", help="skip the `jlpm build` first")
    args = parser.parse_args()
    built = REPO / "codeact_jupyter" / "labextension"
    if not args.no_dev_build:
        subprocess.run(["jlpm", "build"], cwd=REPO / "labextension", check=True)
        maps = list((built / "static").glob("*.js.map"))
        print(f"development build in place: {len(maps)} source maps, "
              f"marker present: {(built / 'production-build.txt').exists()}")
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", out], cwd=REPO,
                       check=True)
        wheel = next(Path(out).glob("*.whl"))
        names = zipfile.ZipFile(wheel).namelist()
        static = [n for n in names if n.startswith(SHARED + "static/")]
        maps = [n for n in static if n.endswith(".map")]
        marker = SHARED + "production-build.txt" in names
        entry = next(n for n in static if "/remoteEntry." in n)
        code = zipfile.ZipFile(wheel).read(entry).decode()
        minified = code.count("\n") < 5 and "sourceMappingURL" not in code
        # What `codeact eval` and the quickstart read from the package itself.
        tasks = [n for n in names if n.startswith("codeact_jupyter/eval_suite/")
                 and n.endswith((".yaml", ".yml", ".json"))]
        replays = [n for n in names if n.startswith("codeact_jupyter/replays/")]
    print(f"wheel: built-in eval suite {len(tasks)} task files, {len(replays)} replay files")
    print(f"wheel: {wheel.name}, {len(static)} static files, {len(maps)} source maps, "
          f"production marker: {marker}, remoteEntry minified: {minified}")
    ok = static and not maps and marker and minified and len(tasks) >= 40 and replays
    print("OK: the wheel ships the production build, the eval suite and the replays" if ok
          else "FAIL: the wheel misses the production build, the eval suite or the replays")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
