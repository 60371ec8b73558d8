"""The map stage's geography step: the records of one page meet the official geography.

Run by ``map.PageJob`` once a page's records are complete. For each record:

- a collectivity (a ``{{Collectivité}}`` record, or a collectivity named by a value) that the
  official geography identifies — by its INSEE code, or by a name such as ``Ville d'Arles`` —
  gets the IRI minted from its official code, so that the wiki's record and the places in it
  meet on one IRI;
- any other record with an INSEE code, a postal code or a town (a third place, an
  organisation) is located in one current commune (``geography.resolve.locate``) and linked to
  it and to the levels above (``tl:inCommune``, ``tl:inArrondissement``, ``tl:inEpci``,
  ``tl:inDepartement``, ``tl:inRegion``).

Every collectivity so reached is described from the geography (class, level, official name,
codes, links to the levels above, INSEE's code-based IRI, the data source), with the page's
revision as provenance: the release publishes only the collectivities the wiki reaches. What
could not be resolved, or was resolved with a correction, comes back as issues (warnings) for
``quality.csv``.

IRIs (``{base}`` the data base IRI)::

    {base}collectivity/commune/{INSEE code}                  e.g. …/commune/14167
    {base}collectivity/arrondissement-municipal/{INSEE code} e.g. …/arrondissement-municipal/13204
    {base}collectivity/epci/{SIREN}                          e.g. …/epci/200065597
    {base}collectivity/departement/{INSEE code}              e.g. …/departement/14
    {base}collectivity/region/{INSEE code}                   e.g. …/region/28
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tierslieux import geography as geo_data
from tierslieux.geography import Geography, Unit, insee_iri
from tierslieux.geography.resolve import LEVELS, Note, identify, locate
from tierslieux.model.rdf import text_token
from tierslieux.pipeline.map_terms import DCTERMS, PROV, RDF, RDFS, TL, is_literal, lexical

#: the map stage's fast terms (pipeline/map_terms.py): IRIs plain, literals as tokens
Term = str
Triple = tuple[str, str, str]

_SEGMENT = {"commune": "commune", "arrondissement": "arrondissement-municipal", "epci": "epci",
            "departement": "departement", "region": "region"}
_CLASS = {"commune": TL.Commune, "arrondissement": TL.ArrondissementMunicipal, "epci": TL.Epci,
          "departement": TL.Departement, "region": TL.Region}
_EPCI_LEVEL = {"CC": "level-communaute-communes", "CA": "level-communaute-agglomeration",
               "CU": "level-communaute-urbaine", "METRO": "level-metropole",
               "MET69": "level-metropole"}
_LINK = {"commune": TL.inCommune, "arrondissement": TL.inArrondissement, "epci": TL.inEpci,
         "departement": TL.inDepartement, "region": TL.inRegion}
#: what the field of a note is called in quality.csv
FIELD = "commune"


@dataclass(frozen=True)
class GeoIssue:
    """A note for quality.csv: what was given, what was kept (the commune) and why."""

    field: str
    original: str
    kept: str
    message: str
    severity: str = "warning"


def collectivity_iri(base: str, unit: Unit) -> str:
    return f"{base}collectivity/{_SEGMENT[unit.level]}/{unit.code}"


def _text(term: Term) -> str:
    """What ``str`` gave of an rdflib term: an IRI, or the lexical form of a literal."""
    return lexical(term) if is_literal(term) else term


def level_of(unit: Unit) -> str:
    if unit.level == "epci":
        return TL[_EPCI_LEVEL.get(unit.kind, "level-epci")]
    if unit.level == "arrondissement":
        return TL["level-arrondissement-municipal"]
    return TL[f"level-{unit.level}"]


class GeographyStep:
    """Applies the geography to one page's triples (see the module docstring)."""

    def __init__(self, base: str, rev_iri: str, geo: Geography | None = None) -> None:
        self.base = base
        self.rev_iri = rev_iri
        self._geo = geo
        self.issues: list[GeoIssue] = []
        self.units: dict[tuple[str, str], Unit] = {}

    @property
    def geo(self) -> Geography:
        """Loaded on first use: a page with no record never loads the geography."""
        if self._geo is None:
            self._geo = geo_data.geography()
        return self._geo

    def run(self, triples: set[Triple], records: Iterable[tuple[str, str]]) -> set[Triple]:
        """The page's triples with the collectivities renamed and the geography added."""
        records = list(records)
        record_iris = {iri for _, iri in records}
        interest = set(record_iris)
        collectivity, rdf_type = TL.Collectivity, RDF.type  # namespace lookups cost: once
        for s, p, o in triples:
            if o == collectivity and p == rdf_type:
                interest.add(s)
        if not interest:
            return triples
        by_subject: dict[str, dict[str, list[Term]]] = {}
        for s, p, o in triples:
            if s in interest:
                by_subject.setdefault(s, {}).setdefault(p, []).append(o)
        rename: dict[str, str] = {}
        drop: set[Triple] = set()
        added: set[Triple] = set()
        # collectivities: the page's records first, then those named by a value
        named = [(kind, iri) for kind, iri in records if kind == "collectivity"]
        named += sorted(("value", s) for s, props in by_subject.items()
                        if TL.Collectivity in props.get(RDF.type, ()) and s not in record_iris)
        for kind, iri in named:
            unit = self.identify(by_subject.get(iri, {}), record=kind != "value")
            if unit is None:
                continue
            rename[iri] = collectivity_iri(self.base, unit)
            # the official level and codes replace the record's (a difference is reported)
            props = by_subject.get(iri, {})
            drop.update((iri, TL.level, o) for o in props.get(TL.level, ()))
            drop.update((iri, TL.inseeCode, o) for o in props.get(TL.inseeCode, ())
                        if _text(o) != unit.code)
            if unit.siren:
                drop.update((iri, TL.siren, o) for o in props.get(TL.siren, ())
                            if _text(o) != unit.siren)
            self.reach(unit)
        for kind, iri in records:
            if kind == "collectivity":
                continue
            props = by_subject.get(iri, {})
            located = self.locate(props)
            if located is None:
                continue
            chain = self.geo.chain(located.arrondissement or located.commune)
            for unit in chain:
                added.add((iri, _LINK[unit.level], collectivity_iri(self.base, unit)))
                self.reach(unit)
        if rename or drop:
            out = {(rename.get(s, s), p, o if is_literal(o) else rename.get(o, o))
                   for s, p, o in triples if (s, p, o) not in drop}
        else:
            out = set(triples)
        out |= added
        for unit in sorted(self.units.values(), key=lambda u: (u.level, u.code)):
            out |= self.describe(unit)
        return out

    # ------------------------------------------------------------------ resolution
    def identify(self, props: dict[str, list[Term]], *, record: bool) -> Unit | None:
        names = sorted(_text(o) for o in props.get(TL.name, ()))
        codes = sorted(_text(o) for o in props.get(TL.inseeCode, ()))
        sirens = sorted(_text(o) for o in props.get(TL.siren, ()))
        levels = sorted({LEVELS.get(_text(o).rsplit("#", 1)[-1], "?")
                         for o in props.get(TL.level, ())})
        if "?" in levels:  # a level the official geography does not have (Europe, État…)
            return None
        level = levels[0] if len(levels) == 1 else ""
        name = names[0] if names else ""
        found = identify(self.geo, name=name, level=level, insee=codes[0] if codes else "",
                         siren=sirens[0] if sirens else "")
        if found.unit is not None and found.unit.level == "epci" and level not in ("", "epci"):
            found = identify(self.geo)
        self.note(found.notes, found.unit)
        unit = found.unit
        if unit is not None and unit.siren and sirens and unit.siren not in sirens:
            self.issues.append(GeoIssue(FIELD, " | ".join(sirens), f"{unit.name} ({unit.code})", (
                f"the SIREN of {unit.name} in the official geography is {unit.siren}, "
                f"not {', '.join(sirens)}: the official one is published")))
        if found.unit is None and record and (codes or level):
            given = " | ".join(filter(None, (name, level, *codes, *sirens)))
            if not found.notes:
                self.issues.append(GeoIssue(FIELD, given, "", (
                    "collectivity not found in the official geography: kept under its name")))
        return found.unit

    def locate(self, props: dict[str, list[Term]]):
        def first(prop: str) -> str:
            values = sorted(_text(o) for o in props.get(prop, ()))
            return values[0] if values else ""

        insee, postcode, town = first(TL.inseeCode), first(TL.postalCode), first(TL.town)
        if not (insee or postcode or town):
            return None
        located = locate(self.geo, insee=insee, postcode=postcode, town=town)
        unit = self.geo.communes.get(located.arrondissement or located.commune)
        self.note(located.notes, unit)
        return located if located.resolved else None

    def note(self, notes: Iterable[Note], unit: Unit | None) -> None:
        kept = f"{unit.name} ({unit.code})" if unit is not None else ""
        for n in notes:
            self.issues.append(GeoIssue(FIELD, n.original, kept, n.message, n.severity))

    # ------------------------------------------------------------------ description
    def reach(self, unit: Unit) -> None:
        """Publish ``unit`` and every unit its description links to."""
        if (unit.level, unit.code) in self.units:
            return
        self.units[unit.level, unit.code] = unit
        for parent in self.parents(unit):
            self.reach(parent)

    def parents(self, unit: Unit) -> list[Unit]:
        geo = self.geo
        if unit.level in ("commune", "arrondissement"):
            return geo.chain(unit.code)[1:]
        if unit.level == "epci":
            deps, regs = geo.epci_places(unit.code)
            return ([geo.departements[d] for d in deps if d in geo.departements]
                    + [geo.regions[r] for r in regs if r in geo.regions])
        if unit.level == "departement" and unit.region in geo.regions:
            return [geo.regions[unit.region]]
        return []

    def describe(self, unit: Unit) -> set[Triple]:
        iri = collectivity_iri(self.base, unit)
        name = text_token(unit.name)
        out: set[Triple] = {
            (iri, RDF.type, TL.Collectivity), (iri, RDF.type, _CLASS[unit.level]),
            (iri, RDFS.label, name), (iri, TL.name, name), (iri, TL.officialName, name),
            (iri, TL.level, level_of(unit)), (iri, PROV.wasDerivedFrom, self.rev_iri),
            (iri, DCTERMS.source, str(geo_data.SOURCE["url"])),
        }
        if unit.level != "epci":
            out.add((iri, TL.inseeCode, text_token(unit.code)))
        if unit.siren:
            out.add((iri, TL.siren, text_token(unit.siren)))
        territory = insee_iri(unit)
        if territory:
            out.add((iri, TL.inseeTerritory, str(territory)))
        for parent in self.parents(unit):
            out.add((iri, _LINK[parent.level], collectivity_iri(self.base, parent)))
        return out
