"""The map stage, values of template parameters: cleaned, then set on a record.

A value becomes a literal, an IRI, an entity, a concept (known or minted) or a closure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdflib import Literal, URIRef

from tierslieux.model.clean import CLEANERS, Closure, DateValue, plain_text, split_values
from tierslieux.model.iri import IRI_LIMIT, is_iri
from tierslieux.model.records import Issue
from tierslieux.ontology.rules import ParamRule
from tierslieux.pipeline.map_terms import RDF, SKOS, TL, XSD

if TYPE_CHECKING:
    from tierslieux.pipeline.map import PageJob, Record


def map_param(job: PageJob, record: Record, param: ParamRule, raw: str, field_: str) -> bool:
    """Fill ``record`` from one parameter; False when some value was rejected."""
    if param.separator:
        parts = split_values(plain_text(raw, urls=True), param.separator)
    else:
        parts = (raw,)
    all_ok = True
    for part in parts:
        cleaned = CLEANERS[param.cleaner](part)
        if cleaned.issue is not None:
            severity = cleaned.issue.severity
            if cleaned.rejected and not param.required:
                severity = "warning"
            job.issues.append(Issue(job.title, severity, field_, cleaned.issue.original,
                                    cleaned.issue.kept, cleaned.issue.message))
        if cleaned.rejected:
            all_ok = False
            continue
        if not set_value(job, record, param, cleaned.value, field_):
            all_ok = False
    return all_ok


def set_value(job: PageJob, record: Record, param: ParamRule, value: object, field_: str
              ) -> bool:
    """Set one cleaned value on ``record`` as the parameter's kind says; False if refused."""
    subject = record.iri
    if param.kind == "closure":
        assert isinstance(value, Closure)
        return set_closure(job, record, value, dict(param.properties), by_param=True)
    prop = param.property
    assert prop is not None
    record.set_by_param.add(prop)
    record.set_any.add(prop)
    if param.kind == "iri":
        if not is_iri(str(value)) or len(str(value)) > IRI_LIMIT:
            job.issue("warning", field_, str(value), "", "not a valid IRI")
            return False
        job.add(subject, prop, str(value))
    elif param.kind == "entity":
        assert param.entity is not None
        name = str(value)
        if param.entity == "person":
            target = job.person(name)
            if target is None:
                job.issue("warning", field_, name, "", "not a person's name")
                return False
        else:
            rule = job.mapping.entity(param.entity)
            target = job.iris.entity_iri(param.entity, name=name)
            job.entity(target, rule.cls, job.lit(name))
            job.add(target, TL.name, job.lit(name))
        job.add(subject, prop, target)
        job.add(job.page_iri, TL.mentions, target)
    elif param.kind == "concept":
        assert param.scheme is not None
        concept = job.mapping.concept(param.scheme, str(value), param.values)
        if concept is None:
            if param.unknown != "mint":
                job.issue("warning", field_, str(value), "",
                          f"not a concept of tl:{param.scheme.rsplit('#', 1)[-1]}")
                return False
            concept = mint_concept(job, param.scheme, str(value))
            job.issue("info", field_, str(value), str(concept),
                      "value not in the ontology: a new concept was minted")
        job.add(subject, prop, concept)
    else:
        job.add(subject, prop, literal(job, prop, value))
    return True


def literal(job: PageJob, prop: URIRef, value: object) -> str | Literal:
    """The literal of a value, typed as the ontology types ``prop`` (a fast term)."""
    if isinstance(value, DateValue):
        return job.typed(value.lexical, XSD[value.datatype])
    datatype = job.mapping.property_info(prop).datatype
    if datatype is not None:
        datatype = str.__str__(datatype)  # a rule's URIRef never equals a str
    if datatype == RDF.langString:
        return job.text(str(value))
    if datatype is None or datatype == XSD.string:
        return job.lit(str(value))
    return job.typed(str(value), datatype)


def mint_concept(job: PageJob, scheme: URIRef, value: str) -> str:
    """A new concept of ``scheme`` for a value the ontology does not know."""
    iri = job.iris.concept_iri(scheme, value)
    cls = job.mapping.scheme_classes.get(scheme, SKOS.Concept)
    job.entity(iri, SKOS.Concept, job.text(value))
    job.add(iri, RDF.type, cls)
    job.add(iri, SKOS.inScheme, scheme)
    job.add(iri, SKOS.prefLabel, job.text(value))
    return iri


def set_closure(job: PageJob, record: Record, closure: Closure, roles: dict[str, URIRef], *,
                by_param: bool) -> bool:
    """Status, date and note of a closure, by the roles of the rule that found it."""
    status_prop = roles.get("status")
    if status_prop is not None:
        status = TL["status-closed"] if closure.closed else TL["status-open"]
        job.add(record.iri, status_prop, status)
        record.set_any.add(status_prop)
        if by_param:
            record.set_by_param.add(status_prop)
    if closure.since is not None and roles.get("since") is not None:
        job.add(record.iri, roles["since"], literal(job, roles["since"], closure.since))
    if closure.note and roles.get("note") is not None:
        job.add(record.iri, roles["note"], job.text(closure.note))
    return True
