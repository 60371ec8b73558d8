"""Resolution: what a wiki record says of where it is -> one current commune, or a report.

``locate(geo, insee=..., postcode=..., town=...)`` takes what the record gives, in any
combination, and returns a ``Located``: the current commune (and the arrondissement municipal
when the record pins one), or none, with the notes an editor should read. The rules:

- a town name matches ignoring case, accents, hyphens, apostrophes, "St"/"Saint",
  "Ste"/"Sainte", a trailing "Cedex" and the form of an arrondissement ("Marseille 4e",
  "Lyon 1er", "Paris 11e arrondissement");
- an INSEE code is a current commune or arrondissement; the code of a commune merged into
  another, or of a commune déléguée / associée, gives its current commune;
- a postcode gives the communes (or arrondissements) that have it;
- every field given must agree: the communes each field allows are intersected. One commune
  left: resolved. A field that names an old commune resolves to its current commune with a
  note (warning). A field that matches nothing while the others agree on one commune is
  reported (warning), the others decide;
- several communes left (a postcode shared by several communes, a name borne by several
  communes and nothing else to decide): not resolved, reported with the candidates;
- no commune left although fields matched (postcode of one commune, town of another; a
  5-digit value in the wrong field): not resolved, reported with what each field matched and,
  when a value fits the other field (an INSEE code that is also a postcode…), said so.

``identify`` does the same for a collectivity record: its INSEE code or its name (``Ville
d'Arles``, ``Région Normandie``, ``Département du Calvados``, an EPCI's name) at its level. A
code whose unit has another level than the record's, or another name than the record's (once
"Ville de", "Région", "Conseil départemental du"… are set aside), is not linked, and reported.
Nothing is guessed: every resolution that is not exact carries a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tierslieux.geography import Geography, Unit

_ORDINAL = re.compile(r"\b(\d{1,2}) ?(?:er|e|eme|ieme|em)\b")


def name_key(text: str) -> str:
    """The folded form of a place name used for matching."""
    from tierslieux.model.clean import fold

    key = fold(text.replace("’", "'"))
    key = _ORDINAL.sub(r"\1", key)
    words = []
    for word in key.split():
        words.append({"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}.get(
            word, word))
    if len(words) > 2 and words[-2] == "cedex" and words[-1].isdigit():
        words = words[:-2]
    elif len(words) > 1 and words[-1] == "cedex":
        words = words[:-1]
    words = [w for w in words if w != "arrondissement"]
    return " ".join(words)


@dataclass(frozen=True)
class Note:
    """What an editor should read about a resolution: ``severity`` is warning."""

    field: str
    original: str
    message: str
    severity: str = "warning"


@dataclass(frozen=True)
class Located:
    """The outcome of ``locate``: the current commune, the arrondissement municipal (or "")."""

    commune: str = ""
    arrondissement: str = ""
    notes: tuple[Note, ...] = ()

    @property
    def resolved(self) -> bool:
        return bool(self.commune)


#: one candidate: (current commune, arrondissement or "", how: "" or the old level)
_Candidate = tuple[str, str, str]


def _by_code(geo: Geography, code: str) -> list[_Candidate]:
    unit = geo.communes.get(code)
    if unit is not None:
        if unit.level == "arrondissement":
            return [(unit.parent, code, "")]
        return [(code, "", "")]
    if code in geo.merged:
        return [(geo.merged[code], "", "merged")]
    return [(u.parent, "", u.level) for u in geo.old.get(code, ()) if u.parent in geo.communes]


def _by_postcode(geo: Geography, postcode: str) -> list[_Candidate]:
    out = []
    for code in geo.postcodes.get(postcode, ()):
        unit = geo.communes[code]
        out.append((unit.parent, code, "") if unit.level == "arrondissement" else (code, "", ""))
    return out


def _by_name(geo: Geography, town: str) -> list[_Candidate]:
    out = []
    for code, how in geo.names.get(name_key(town), ()):
        unit = geo.communes[code]
        if unit.level == "arrondissement":
            out.append((unit.parent, code, how))
        else:
            out.append((code, "", how))
    return out


def _describe(geo: Geography, candidates: list[_Candidate], limit: int = 6) -> str:
    names = []
    for commune, arrondissement, _ in candidates:
        unit = geo.communes[arrondissement or commune]
        names.append(f"{unit.name} ({unit.code})")
    names = sorted(set(names))
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


_OLD = {"merged": "a commune merged", "deleguee": "a commune déléguée",
        "associee": "a commune associée"}
_FIELD = {"insee": "INSEE code", "postcode": "postal code", "town": "town"}


def locate(geo: Geography, *, insee: str = "", postcode: str = "", town: str = "") -> Located:
    """Resolve what a record gives to one current commune (see the module docstring)."""
    given = [(f, v.strip()) for f, v in (("insee", insee.upper()), ("postcode", postcode),
                                          ("town", town)) if v and v.strip()]
    if not given:
        return Located()
    finders = {"insee": _by_code, "postcode": _by_postcode, "town": _by_name}
    found = {f: finders[f](geo, v) for f, v in given}
    value = dict(given)
    notes: list[Note] = []
    matched = [f for f, _ in given if found[f]]
    unmatched = [f for f, _ in given if not found[f]]
    if not matched:
        what = "; ".join(f"{_FIELD[f]} {value[f]!r}" for f in unmatched)
        hints = _wrong_field_hints(geo, value)
        return Located(notes=(Note(_first(given), _joined(given),
                                   f"not found in the official geography ({what}){hints}: "
                                   "the place is in no commune"),))
    communes = set.intersection(*({c for c, _, _ in found[f]} for f in matched))
    if not communes:
        said = "; ".join(f"{_FIELD[f]} {value[f]!r} is {_describe(geo, found[f])}"
                         for f in matched)
        hints = _wrong_field_hints(geo, value)
        return Located(notes=(Note(_first(given), _joined(given),
                                   f"the fields disagree: {said}{hints}; not resolved"),))
    if len(communes) > 1:
        pool = [c for f in matched for c in found[f] if c[0] in communes]
        by = " and ".join(f"{_FIELD[f]} {value[f]!r}" for f in matched)
        return Located(notes=(Note(_first(given), _joined(given),
                                   f"{by} match several communes: {_describe(geo, pool)}; "
                                   "give the INSEE code or the postal code to decide"),))
    commune = communes.pop()
    arrondissements = set()
    for f in matched:
        pinned = {a for c, a, _ in found[f] if c == commune and a}
        whole = any(c == commune and not a for c, a, _ in found[f])
        if pinned and not whole:
            arrondissements.add(frozenset(pinned))
    arrondissement = ""
    if arrondissements:
        common = frozenset.intersection(*arrondissements)
        if len(common) == 1:
            arrondissement = next(iter(common))
        else:
            parts = "; ".join(f"{_FIELD[f]} {value[f]!r}" for f in matched)
            notes.append(Note(_first(given), _joined(given),
                              f"{parts} point to different arrondissements of "
                              f"{geo.communes[commune].name}: resolved to the commune only"))
    current = geo.communes[commune]
    for f in matched:
        hows = {how for c, _, how in found[f] if c == commune}
        if "" not in hows:
            how = sorted(hows)[0]
            notes.append(Note(f, value[f], f"{_FIELD[f]} {value[f]!r} is {_OLD[how]} into "
                              f"{current.name} ({current.code}): resolved to the current "
                              "commune"))
    for f in unmatched:
        hint = _wrong_field_hints(geo, {f: value[f]})
        notes.append(Note(f, value[f], f"{_FIELD[f]} {value[f]!r} is not in the official "
                          f"geography{hint}; resolved to {current.name} ({current.code}) by "
                          f"the other fields"))
    return Located(commune, arrondissement, tuple(notes))


def _first(given: list[tuple[str, str]]) -> str:
    return given[0][0] if len(given) == 1 else "address"


def _joined(given: list[tuple[str, str]]) -> str:
    if len(given) == 1:
        return given[0][1]
    return " | ".join(f"{f}={v}" for f, v in given)


def _wrong_field_hints(geo: Geography, value: dict[str, str]) -> str:
    hints = []
    code = value.get("insee", "")
    if code and geo.postcodes.get(code):
        hints.append(f"{code} is also the postal code of "
                     f"{_describe(geo, _by_postcode(geo, code))}: a postal code in the INSEE "
                     "code field?")
    postcode = value.get("postcode", "")
    if postcode and _by_code(geo, postcode):
        hints.append(f"{postcode} is also the INSEE code of "
                     f"{_describe(geo, _by_code(geo, postcode))}: an INSEE code in the postal "
                     "code field?")
    return "".join(f" ({h})" for h in hints)


# --------------------------------------------------------------------------- collectivities

_PREFIXES = {
    "commune": ("ville de", "ville d", "ville du", "ville des", "mairie de", "mairie d",
                "mairie du", "commune de", "commune d", "commune du", "ville", "mairie"),
    "departement": ("conseil departemental de la", "conseil departemental des",
                    "conseil departemental du", "conseil departemental de",
                    "conseil departemental d", "departement de la", "departement des",
                    "departement du", "departement de", "departement d", "departement",
                    "conseil departemental"),
    "region": ("conseil regional de la", "conseil regional des", "conseil regional du",
               "conseil regional de", "conseil regional d", "region de la", "region des",
               "region du", "region de", "region d", "region", "conseil regional"),
}
#: concept local names of the ontology's levels -> geography level
LEVELS = {
    "level-commune": "commune", "level-epci": "epci", "level-metropole": "epci",
    "level-communaute-urbaine": "epci", "level-communaute-agglomeration": "epci",
    "level-communaute-communes": "epci", "level-departement": "departement",
    "level-region": "region", "level-arrondissement-municipal": "arrondissement",
}


@dataclass(frozen=True)
class Identified:
    """The outcome of ``identify``: the unit a collectivity record is, or None."""

    unit: Unit | None = None
    notes: tuple[Note, ...] = ()


def identify(geo: Geography, *, name: str = "", level: str = "", insee: str = "",
             siren: str = "") -> Identified:
    """The official unit a collectivity record names (``level`` is a geography level or "")."""
    if insee:
        unit = geo.communes.get(insee)
        if unit is None and level in ("", "departement"):
            unit = geo.departements.get(insee)
        if unit is None and level in ("", "region"):
            unit = geo.regions.get(insee)
        if unit is None:
            cands = _by_code(geo, insee)
            hint = _wrong_field_hints(geo, {"insee": insee})
            if cands and level not in ("", "commune"):
                return Identified(notes=(Note("insee", insee, (
                    f"INSEE code {insee!r} is {_OLD[cands[0][2]]} into "
                    f"{geo.communes[cands[0][0]].name}, but the record says its level is "
                    f"{level}: not linked to the official geography")),))
            if cands:
                current = geo.communes[cands[0][0]]
                return Identified(current, (Note("insee", insee, (
                    f"INSEE code {insee!r} is {_OLD[cands[0][2]]} into {current.name} "
                    f"({current.code}): the collectivity is the current commune")),))
            return Identified(notes=(Note("insee", insee, f"INSEE code {insee!r} is not in "
                                          f"the official geography{hint}"),))
        if level and unit.level != level:
            return Identified(notes=(Note("insee", insee, (
                f"INSEE code {insee!r} is the {unit.level} {unit.name}, but the record says its "
                f"level is {level}: not linked to the official geography")),))
        if name and not _name_fits(unit, name):
            return Identified(notes=(Note("insee", insee, (
                f"INSEE code {insee!r} is {unit.name}, but the record's name is {name!r}: not "
                "linked to the official geography")),))
        return Identified(unit)
    if siren and siren in geo.epcis:
        return Identified(geo.epcis[siren])
    if not name:
        return Identified()
    candidates = _units_named(geo, name, level)
    if len(candidates) == 1:
        return Identified(candidates[0])
    if len(candidates) > 1:
        listed = ", ".join(sorted(f"{u.name} ({u.code})" for u in candidates)[:6])
        return Identified(notes=(Note("name", name, (
            f"{name!r} names several collectivities ({listed}): give its INSEE code")),))
    return Identified()


def _stripped(level: str, key: str) -> str:
    for prefix in _PREFIXES.get(level, ()):
        if key.startswith(prefix + " "):
            return key[len(prefix) + 1:]
    return key


def _name_fits(unit: Unit, name: str) -> bool:
    key = name_key(name)
    return name_key(unit.name) in (key, _stripped(unit.level, key))


def _units_named(geo: Geography, name: str, level: str) -> list[Unit]:
    key = name_key(name)
    out: list[Unit] = []
    if level in ("", "commune"):
        stripped = _stripped("commune", key)
        codes = {c for c, how in geo.names.get(stripped, ()) if not how}
        if level == "commune" or stripped != key:
            out += [geo.communes[c] for c in sorted(codes)
                    if geo.communes[c].level == "commune"]
    if level in ("", "departement"):
        stripped = _stripped("departement", key)
        if level or stripped != key:
            out += [u for u in geo.departements.values() if name_key(u.name) == stripped]
    if level in ("", "region"):
        stripped = _stripped("region", key)
        if level or stripped != key:
            out += [u for u in geo.regions.values() if name_key(u.name) == stripped]
    if level in ("", "epci"):
        out += [u for u in geo.epcis.values() if name_key(u.name) == key]
    return out
