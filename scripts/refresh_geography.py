#!/usr/bin/env python3
"""Rebuild the vendored official geography (tierslieux/geography/cog.json.gz and source.json)
from a newer version of the npm package @etalab/decoupage-administratif.

    python scripts/refresh_geography.py                       # npm pack the latest version
    python scripts/refresh_geography.py --version 6.0.0       # npm pack that version
    python scripts/refresh_geography.py PACKAGE.tgz|FOLDER    # a tarball or folder you have

`npm pack` needs npm and the npm registry; with a tarball or folder nothing is fetched.
`--out DIR` writes elsewhere than the package's folder (tests use it). Exit codes: 0 done,
1 the package could not be fetched or read (one line on stderr), 2 wrong command line. After
a refresh, run the tests (the golden cases name real communes) and note the new version in
CHANGELOG.md: the build cache empties itself because the data's digest changed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tierslieux.errors import GeographyError  # noqa: E402
from tierslieux.geography.derive import DATA_FILE, PACKAGE, refresh  # noqa: E402


def npm_pack(version: str, folder: Path) -> Path:
    spec = f"{PACKAGE}@{version}" if version else PACKAGE
    try:
        done = subprocess.run(["npm", "pack", spec, "--silent"], cwd=folder, check=True,
                              capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as exc:
        raise GeographyError(f"npm pack {spec} failed: {exc}") from exc
    name = done.stdout.strip().splitlines()[-1]
    return folder / name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", nargs="?", type=Path,
                        help="an npm tarball (.tgz) or unpacked folder of the package")
    parser.add_argument("--version", default="", help="the version to npm pack (default: latest)")
    parser.add_argument("--out", type=Path, default=ROOT / "tierslieux" / "geography",
                        help="where to write cog.json.gz and source.json")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            package = args.package or npm_pack(args.version, Path(tmp))
            source = refresh(package, args.out)
    except GeographyError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    size = (args.out / DATA_FILE).stat().st_size
    print(f"{source['package']} {source['version']}: wrote {args.out / DATA_FILE} "
          f"({size:,} bytes, sha256 {source['sha256'][:12]}…)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
