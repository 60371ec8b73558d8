"""One entity per real thing: the names of a person or a network written several ways.

Persons and networks get their IRIs from a slug of their name, which ignores case, accents
and punctuation, so "ophélie Deyrolle" and "ophélie deyrolle" are already one ``tl:Person``.
This step, run by the map stage on each page's triples, gives such an entity one
``rdfs:label`` (and one ``tl:name`` for a network): the best-written variant — the one with
the most capitalised words (not words in capitals), then the most accented letters, then the first in code-point
order — and keeps the others as ``skos:altLabel``. The choice depends only on the variants,
so every page that sees the same variants makes the same one. Names written differently on
*different* pages meet only in the merged release: ``labels.py`` folds them there with the same
rank, and reports every fold in quality.csv.
"""

from __future__ import annotations

import unicodedata

from tierslieux.pipeline.map_terms import RDF, RDFS, SKOS, TL, is_literal, lexical

#: a statement of fast terms (pipeline/map_terms.py)
Triple = tuple[str, str, str]
#: the classes whose entities are named by values (not by a record's page title)
FOLDED_CLASSES = (TL.Person, TL.Network)


def rank(name: str) -> tuple[int, int, str]:
    """Sort key of a variant: the best-written first."""
    # a capitalised word counts, a word in capitals ("DEYROLLE") does not
    capitals = sum(1 for word in name.split()
                   if word[:1].isupper() and not (len(word) > 1 and word.isupper()))
    accents = sum(1 for ch in unicodedata.normalize("NFD", name) if unicodedata.combining(ch))
    return (-capitals, -accents, name)


def _literal_rank(token: str) -> tuple[tuple[int, int, str], str]:
    """``rank`` of a literal token's text; two literals of one text (a tag, a datatype) in
    the order rdflib's ``str`` left them: by their token."""
    return rank(lexical(token)), token


def fold_names(triples: set[Triple]) -> set[Triple]:
    """The page's triples with one label (and name) per person or network."""
    rdf_type, classes = RDF.type, set(FOLDED_CLASSES)  # namespace lookups cost: once
    folded = {s for s, p, o in triples if o in classes and p == rdf_type}
    if not folded:
        return triples
    label, name = RDFS.label, TL.name
    labels: dict[str, set[str]] = {}
    names: dict[str, set[str]] = {}
    for s, p, o in triples:
        if s in folded and is_literal(o):
            if p == label:
                labels.setdefault(s, set()).add(o)
            elif p == name:
                names.setdefault(s, set()).add(o)
    out = set(triples)
    for subject in folded:
        variants = labels.get(subject, set()) | names.get(subject, set())
        if len(variants) < 2:
            continue
        best = min(variants, key=lambda lit: _literal_rank(lit))
        for lit in labels.get(subject, ()):
            out.discard((subject, RDFS.label, lit))
        for lit in names.get(subject, ()):
            out.discard((subject, TL.name, lit))
        out.add((subject, RDFS.label, best))
        if subject in names:
            out.add((subject, TL.name, best))
        for lit in variants - {best}:
            out.add((subject, SKOS.altLabel, lit))
    return out
