"""Derive the compact geography file from the JSON files of ``@etalab/decoupage-administratif``.

The npm package (Etalab, from INSEE's Code officiel géographique) ships ``data/communes.json``,
``epci.json``, ``departements.json`` and ``regions.json`` (12 MB). The build needs a few fields
of them, kept in ``cog.json.gz`` (about 0.5 MB) with the package's version, source and licence
in ``source.json``. ``scripts/refresh_geography.py`` runs this module on a newer tarball.

``cog.json.gz`` holds one JSON object (written with sorted keys, gzip without a timestamp, so
the same package gives the same bytes)::

    {"format": 1,
     "regions":      [[code, name], ...],
     "departements": [[code, name, region], ...],
     "epci":         [[siren, name, type], ...],           type: CC, CA, CU, METRO, MET69
     "communes":     [[code, name, kind, siren, departement, region, postcodes, parent, epci,
                       old_codes, key], ...]}

``kind`` is ``C`` (commune actuelle), ``A`` (arrondissement municipal), ``D`` (commune
déléguée) or ``S`` (commune associée); ``postcodes`` and ``old_codes`` are space-separated;
``parent`` is the commune of an arrondissement or the chef-lieu (current commune) of a
déléguée / associée commune; ``epci`` the SIREN of the commune's EPCI, when it has one;
``key`` the folded name the resolver matches town names on (``resolve.name_key``), computed
here so that loading the data does not fold 37,000 names.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tierslieux.errors import GeographyError

FORMAT = 2
DATA_FILE = "cog.json.gz"
SOURCE_FILE = "source.json"
PACKAGE = "@etalab/decoupage-administratif"
_KINDS = {"commune-actuelle": "C", "arrondissement-municipal": "A", "commune-deleguee": "D",
          "commune-associee": "S"}
_FILES = ("communes.json", "epci.json", "departements.json", "regions.json", "package.json")


def read_package(path: Path) -> dict[str, Any]:
    """The JSON files of the package: a ``.tgz`` as ``npm pack`` writes it, or its folder."""
    found: dict[str, Any] = {}
    try:
        if path.is_dir():
            root = path / "package" if (path / "package").is_dir() else path
            for name in _FILES:
                where = root / name if name == "package.json" else root / "data" / name
                if where.is_file():
                    found[name] = json.loads(where.read_text(encoding="utf-8"))
        else:
            with tarfile.open(path, "r:*") as tar:
                for member in tar.getmembers():
                    # npm tarballs hold package/package.json and package/data/<file>
                    inner = member.name.split("/", 1)[-1]
                    name = inner.removeprefix("data/")
                    wanted = inner == "package.json" or inner == f"data/{name}"
                    if name in _FILES and wanted and member.isfile():
                        handle = tar.extractfile(member)
                        assert handle is not None
                        found[name] = json.loads(handle.read().decode("utf-8"))
    except (OSError, tarfile.TarError, ValueError) as exc:
        raise GeographyError(f"{path}: cannot read the package ({exc})") from exc
    missing = [name for name in _FILES if name not in found]
    if missing:
        raise GeographyError(f"{path}: not a {PACKAGE} package (missing {', '.join(missing)})")
    if found["package.json"].get("name") != PACKAGE:
        raise GeographyError(f"{path}: package {found['package.json'].get('name')!r}, "
                                   f"not {PACKAGE}")
    return found


def derive(files: Mapping[str, Any]) -> dict[str, Any]:
    """The compact data (see the module docstring) from the package's JSON files."""
    from tierslieux.geography.resolve import name_key

    epci_of: dict[str, str] = {}
    epci_rows = []
    for item in files["epci.json"]:
        epci_rows.append([item["code"], item["nom"], item.get("type", "")])
        for member in item.get("membres", ()):
            epci_of[member["code"]] = item["code"]
    communes = []
    for item in files["communes.json"]:
        kind = _KINDS.get(item.get("type", ""))
        if kind is None:
            continue
        parent = item.get("commune", "") if kind == "A" else (
            item.get("chefLieu", "") if kind in "DS" else "")
        communes.append([
            item["code"], item["nom"], kind, item.get("siren", "") if kind == "C" else "",
            item.get("departement", ""), item.get("region", ""),
            " ".join(item.get("codesPostaux", ())), parent,
            epci_of.get(item["code"], "") if kind == "C" else "",
            " ".join(item.get("anciensCodes", ())) if kind == "C" else "",
            name_key(item["nom"]),
        ])
    return {
        "format": FORMAT,
        "regions": sorted([r["code"], r["nom"]] for r in files["regions.json"]),
        "departements": sorted([d["code"], d["nom"], d.get("region", "")]
                               for d in files["departements.json"]),
        "epci": sorted(epci_rows),
        "communes": sorted(communes),
    }


def source_of(files: Mapping[str, Any], data: bytes) -> dict[str, Any]:
    """What ``source.json`` says of the data: the package, its version, where it comes from,
    its licences, and the digest of the derived file."""
    package = files["package.json"]
    version = str(package.get("version", ""))
    return {
        "title": "Découpage administratif de la France (Code officiel géographique)",
        "title_en": "French administrative divisions (Official geographic code)",
        "package": PACKAGE,
        "version": version,
        "url": f"https://www.npmjs.com/package/{PACKAGE}/v/{version}",
        "repository": "https://github.com/datagouv/decoupage-administratif",
        "publisher": "Etalab (DINUM), d'après le Code officiel géographique de l'INSEE",
        "licence": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
        "licence_name": "Licence Ouverte / Open Licence (data); MIT (package)",
        "package_licence": str(package.get("license", "")),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def encode(data: Mapping[str, Any]) -> bytes:
    """The gzip bytes of the data: same data, same bytes."""
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as out:
        out.write(raw.encode("utf-8"))
    return buffer.getvalue()


def refresh(package: Path, folder: Path) -> dict[str, Any]:
    """Rebuild ``cog.json.gz`` and ``source.json`` in ``folder`` from an npm package (tarball
    or folder); returns the new source record."""
    files = read_package(package)
    data = encode(derive(files))
    source = source_of(files, data)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DATA_FILE).write_bytes(data)
    (folder / SOURCE_FILE).write_text(
        json.dumps(source, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return source
