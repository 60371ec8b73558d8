"""The official French geography, offline: communes up to régions, with their INSEE codes.

Communes, arrondissements municipaux, EPCI, départements and régions, from
``@etalab/decoupage-administratif`` (see ``derive.py``).

``SOURCE`` describes the vendored data (package, version, address, licence, digest): the
release's catalogue names it as a source. ``geography()`` loads the data on first use only —
importing this package reads the small ``source.json`` and nothing else — and keeps it for the
life of the process (worker processes forked after it inherit it).
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from tierslieux.errors import GeographyError
from tierslieux.geography.derive import DATA_FILE, FORMAT, SOURCE_FILE

#: the vendored data's provenance (title, package, version, url, licence, sha256…)
SOURCE: dict[str, Any] = json.loads(
    resources.files(__name__).joinpath(SOURCE_FILE).read_text(encoding="utf-8"))

#: base of INSEE's code-based linked-data IRIs (see README, "Official geography")
INSEE_GEO = "http://id.insee.fr/geo/"


class Unit(NamedTuple):
    """One unit of the geography: a commune (current, arrondissement municipal, déléguée or
    associée), an EPCI, a département or a région. (A named tuple rather than a frozen
    dataclass: 37,000 of them are made when the data is loaded, three times faster.)"""

    #: commune, arrondissement, deleguee, associee, epci, departement, region
    level: str
    #: INSEE code (the SIREN for an EPCI)
    code: str
    name: str
    siren: str = ""
    departement: str = ""
    region: str = ""
    postcodes: tuple[str, ...] = ()
    #: the commune of an arrondissement, the current commune of a déléguée / associée commune
    parent: str = ""
    epci: str = ""
    #: CC, CA, CU, METRO, MET69 for an EPCI
    kind: str = ""
    #: codes of the communes merged into this one
    old_codes: tuple[str, ...] = ()


_KIND_LEVEL = {"C": "commune", "A": "arrondissement", "D": "deleguee", "S": "associee"}


class Geography:
    """The units by code, with the indexes the resolver uses (``resolve.py``)."""

    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("format") != FORMAT:
            raise GeographyError(f"geography data of format {data.get('format')!r}, "
                                 f"expected {FORMAT}: run scripts/refresh_geography.py")
        self.regions = {code: Unit("region", code, name) for code, name in data["regions"]}
        self.departements = {code: Unit("departement", code, name, region=region)
                             for code, name, region in data["departements"]}
        self.epcis = {code: Unit("epci", code, name, siren=code, kind=kind)
                      for code, name, kind in data["epci"]}
        #: current communes and arrondissements municipaux by code
        self.communes: dict[str, Unit] = {}
        #: communes déléguées / associées by code (their code may be a current commune's too)
        self.old: dict[str, list[Unit]] = {}
        #: folded name -> codes of the units of that name (see ``names``)
        self._keys: list[tuple[str, Unit]] = []
        for code, name, kind, siren, dep, reg, postcodes, parent, epci, old, key in data["communes"]:
            unit = Unit(_KIND_LEVEL[kind], code, name, siren, dep, reg,
                        tuple(postcodes.split()), parent, epci, old_codes=tuple(old.split()))
            self._keys.append((key, unit))
            if kind in "CA":
                self.communes[code] = unit
            else:
                self.old.setdefault(code, []).append(unit)
        #: arrondissements of each commune that has some (Paris, Lyon, Marseille)
        self.arrondissements: dict[str, list[str]] = {}
        for unit in self.communes.values():
            if unit.level == "arrondissement":
                self.arrondissements.setdefault(unit.parent, []).append(unit.code)
        #: code of a commune merged into a current one -> the current one
        self.merged: dict[str, str] = {}
        for unit in self.communes.values():
            for old in unit.old_codes:
                if old not in self.communes:
                    self.merged[old] = unit.code
        self._postcodes: dict[str, list[str]] | None = None
        self._members: dict[str, list[Unit]] | None = None
        self._names: dict[str, list[tuple[str, str]]] | None = None

    # ------------------------------------------------------------------ units
    def unit(self, level: str, code: str) -> Unit | None:
        table = {"region": self.regions, "departement": self.departements,
                 "epci": self.epcis}.get(level)
        if table is not None:
            return table.get(code)
        unit = self.communes.get(code)
        return unit if unit is not None and unit.level == level else None

    def chain(self, code: str) -> list[Unit]:
        """The units above a current commune or arrondissement, itself first: arrondissement,
        commune, EPCI, département, région (those that exist)."""
        unit = self.communes[code]
        out = [unit]
        if unit.level == "arrondissement":
            unit = self.communes[unit.parent]
            out.append(unit)
        if unit.epci and unit.epci in self.epcis:
            out.append(self.epcis[unit.epci])
        if unit.departement in self.departements:
            out.append(self.departements[unit.departement])
        if unit.region in self.regions:
            out.append(self.regions[unit.region])
        return out

    def epci_places(self, siren: str) -> tuple[list[str], list[str]]:
        """The départements and régions of an EPCI's member communes, sorted."""
        deps = sorted({u.departement for u in self.members(siren)})
        regs = sorted({u.region for u in self.members(siren)})
        return deps, regs

    def members(self, siren: str) -> Iterable[Unit]:
        if self._members is None:
            members: dict[str, list[Unit]] = {}
            for unit in self.communes.values():
                if unit.epci:
                    members.setdefault(unit.epci, []).append(unit)
            self._members = members
        return self._members.get(siren, ())

    # ------------------------------------------------------------------ indexes
    @property
    def postcodes(self) -> dict[str, list[str]]:
        """Postcode -> codes of the current communes and arrondissements that have it (a
        commune with arrondissements is reached through them)."""
        if self._postcodes is None:
            index: dict[str, list[str]] = {}
            for unit in self.communes.values():
                if unit.level == "commune" and unit.code in self.arrondissements:
                    continue
                for postcode in unit.postcodes:
                    index.setdefault(postcode, []).append(unit.code)
            self._postcodes = index
        return self._postcodes

    @property
    def names(self) -> dict[str, list[tuple[str, str]]]:
        """Folded name -> (code, how) of every unit of that name: ``how`` is "" for a current
        commune or arrondissement, else the level of the old commune (``deleguee``,
        ``associee``) whose current commune is ``code``."""
        if self._names is None:
            index: dict[str, list[tuple[str, str]]] = {}
            communes = self.communes
            for key, unit in self._keys:
                if unit.level in ("commune", "arrondissement"):
                    entry = (unit.code, "")
                elif unit.parent in communes:
                    entry = (unit.parent, unit.level)
                else:
                    continue
                found = index.get(key)
                if found is None:
                    index[key] = [entry]
                elif entry not in found:
                    found.append(entry)
                    found.sort()
            self._names = index
        return self._names


_LOCK = threading.Lock()
_LOADED: dict[Path | None, Geography] = {}


def geography(path: Path | None = None) -> Geography:
    """The geography (the vendored file, or ``path``), loaded once per process."""
    with _LOCK:
        found = _LOADED.get(path)
        if found is None:
            try:
                raw = (path.read_bytes() if path is not None else
                       resources.files(__name__).joinpath(DATA_FILE).read_bytes())
                data = json.loads(gzip.decompress(raw))
            except (OSError, ValueError, EOFError) as exc:
                raise GeographyError(f"cannot read the geography data: {exc}") from exc
            found = _LOADED[path] = Geography(data)
        return found


def insee_iri(unit: Unit) -> str | None:
    """The code-based IRI of ``unit`` in INSEE's linked-data geography, or None (EPCI, old
    communes: no code-based form)."""
    segment = {"commune": "commune", "arrondissement": "arrondissementMunicipal",
               "departement": "departement", "region": "region"}.get(unit.level)
    return f"{INSEE_GEO}{segment}/{unit.code}" if segment else None
