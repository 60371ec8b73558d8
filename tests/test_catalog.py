"""Absolute IRIs in every published file, the catalogue's settings, and its bad input."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from click.testing import CliRunner

from tierslieux.cli import cli
from tierslieux.config import load_config
from tierslieux.errors import ConfigError
from tierslieux.geography import SOURCE as GEOGRAPHY_SOURCE

RDF_FILES = {
    "tierslieux.ttl": ox.RdfFormat.TURTLE, "tierslieux.nt.gz": ox.RdfFormat.N_TRIPLES,
    "tierslieux.jsonld": ox.RdfFormat.JSON_LD, "ontology.ttl": ox.RdfFormat.TURTLE,
    "shapes.ttl": ox.RdfFormat.TURTLE, "catalog.ttl": ox.RdfFormat.TURTLE,
    "diff-added.nt.gz": ox.RdfFormat.N_TRIPLES, "diff-removed.nt.gz": ox.RdfFormat.N_TRIPLES,
    "context.jsonld": ox.RdfFormat.JSON_LD,
}
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")


def read(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def test_every_rdf_file_of_a_default_release_parses_without_a_base(sample_release) -> None:
    """The sample's release, built without --publication-url: no relative IRI anywhere."""
    published = {p.name for p in sample_release.iterdir()}
    assert set(RDF_FILES) <= published
    for name, fmt in RDF_FILES.items():
        quads = list(ox.parse(read(sample_release / name), format=fmt))  # no base_iri
        for quad in quads:
            for term in (quad.subject, quad.predicate, quad.object):
                if isinstance(term, ox.NamedNode):
                    assert re.match(r"[a-z][a-z0-9+.-]*:", term.value), (name, term)
                    assert not term.value.startswith("file:"), (name, term)
        # a context and the diffs of a first release hold no triple
        assert quads or name in ("context.jsonld", "diff-added.nt.gz", "diff-removed.nt.gz")


def test_default_release_puts_the_files_under_the_base_iri(sample_release) -> None:
    graph = rdflib.Graph().parse(sample_release / "catalog.ttl", format="turtle")
    urls = sorted(str(u) for u in graph.objects(None, DCAT.downloadURL))
    assert len(urls) == 17  # organisations.csv among them
    assert all(u.startswith("https://w3id.org/tierslieux/movilab/release/") for u in urls)


def build(sample_run: Path, out: Path, *args: str):
    return CliRunner().invoke(cli, ["build", "--store", str(sample_run / "store.sqlite"),
                                    "--out", str(out), *args])


def test_the_build_says_where_the_catalogue_puts_the_files(sample_run, tmp_path) -> None:
    result = build(sample_run, tmp_path / "a")
    assert result.exit_code == 0, result.output
    assert ("No publication URL (--publication-url, or publication-url in tierslieux.toml): "
            "catalog.ttl gives the files' addresses under "
            "https://w3id.org/tierslieux/movilab/release/") in result.output
    result = build(sample_run, tmp_path / "b", "--publication-url", "https://data.example.org/x/")
    assert result.exit_code == 0, result.output
    assert "No publication URL" not in result.output
    catalog = (tmp_path / "b" / "catalog.ttl").read_text(encoding="utf-8")
    assert "<https://data.example.org/x/tiers_lieux.csv>" in catalog
    assert "<https://data.example.org/x/catalog.ttl#temporal>" in catalog


def test_a_publication_url_without_host_is_a_one_line_error(sample_run, tmp_path) -> None:
    result = build(sample_run, tmp_path / "out", "--publication-url", "https:///files/")
    assert result.exit_code == 6
    assert "--publication-url must be an http(s) address, got \"https:///files/\"" \
        in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_the_catalogue_refuses_an_address_it_cannot_make_absolute() -> None:
    from tierslieux.exports.catalog import CatalogInfo, GraphStats, catalog_triples
    from tierslieux.errors import PublishError

    info = CatalogInfo(
        base_iri="https://w3id.org/tierslieux/movilab/", publication_url="files/",
        title={"fr": "t", "en": "t"}, description={"fr": "d", "en": "d"}, keywords=(),
        publisher_name="p", licence_iri="https://creativecommons.org/licenses/by-sa/4.0/",
        licence_name="CC BY-SA 4.0", attribution="a", source_url="", modified="")
    stats = GraphStats(0, 0, 0, (), (), "")
    with pytest.raises(PublishError, match="the publication URL 'files/' is not an absolute IRI"):
        catalog_triples(info, {}, stats, {}, {})


@pytest.mark.parametrize("text,message", [
    ('accrual-periodicity = "nightly"', "accrual-periodicity' must be an EU frequency code"),
    ('publisher-type = "Association"', "publisher-type' must be an ADMS publisher type"),
    ('checksum-datatype = "base64"', "checksum-datatype' must be a checksum datatype"),
    ('contact-point = "not an address"', "contact-point' must be an email address or an http"),
])
def test_bad_catalogue_settings_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "tierslieux.toml").write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(cwd=tmp_path)


def test_catalogue_settings_reach_the_catalogue(sample_run, tmp_path) -> None:
    (tmp_path / "tierslieux.toml").write_text(
        'contact-point = "https://movilab.org/contact"\naccrual-periodicity = "DAILY"\n'
        'publisher-type = "LocalAuthority"\nchecksum-datatype = "hexBinary"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, [
        "--config", str(tmp_path / "tierslieux.toml"), "-q", "build",
        "--store", str(sample_run / "store.sqlite"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "catalog.ttl").read_text(encoding="utf-8")
    assert "vcard:hasURL <https://movilab.org/contact>" in text
    assert "dcterms:accrualPeriodicity <http://publications.europa.eu/resource/authority/" \
           "frequency/DAILY>" in text
    assert "<http://purl.org/adms/publishertype/LocalAuthority>" in text
    assert re.search(r'spdx:checksumValue "[0-9a-f]{64}"\^\^xsd:hexBinary', text)


def test_catalogue_texts_are_escaped_by_the_term_layer() -> None:
    """The catalogue writes its terms with model/rdf.py, as every other file: a tab and a
    control character in a configured text are escaped (``\\t``, ``\\u0007``), a lone surrogate
    becomes U+FFFD (it used to stop the build: no UTF-8 can hold it); catalog.ttl parses back
    to the same texts."""
    import io

    import pyoxigraph as ox

    from tierslieux.exports.catalog import CatalogInfo, GraphStats, catalog_triples, write_catalog

    attribution = "Contributeurs\tde Movilab\x07 \ud800fin"
    info = CatalogInfo(
        base_iri="https://w3id.org/tierslieux/movilab/", publication_url="https://x.example/f/",
        title={"fr": "t", "en": "t"}, description={"fr": "d", "en": "d"}, keywords=(),
        publisher_name="p", licence_iri="https://x.example/licence",
        licence_name="L", attribution=attribution, source_url="", modified="")
    triples = catalog_triples(info, {}, GraphStats(0, 0, 0, (), (), ""), {}, {})
    written = [o for s, p, o in triples if p.endswith("attributionName")]
    assert written == ['"Contributeurs\\tde Movilab\\u0007 \\uFFFDfin"']
    out = io.StringIO()
    write_catalog(triples, out)
    parsed = list(ox.parse(out.getvalue().encode("utf-8"), format=ox.RdfFormat.TURTLE))
    (name,) = [t.object.value for t in parsed if t.predicate.value.endswith("attributionName")]
    assert name == "Contributeurs\tde Movilab\x07 \ufffdfin"


# --------------------------------------------------------------------------- the landing page

FOAF = rdflib.Namespace("http://xmlns.com/foaf/0.1/")
PROV = rdflib.Namespace("http://www.w3.org/ns/prov#")
SAMPLE_DATASET = rdflib.URIRef("https://w3id.org/tierslieux/movilab/dataset")


def landing(graph: rdflib.Graph) -> tuple[list[str], list[str]]:
    """(dcat:landingPage, prov:wasDerivedFrom) of the dataset, as sorted text."""
    return (sorted(str(o) for o in graph.objects(SAMPLE_DATASET, DCAT.landingPage)),
            sorted(str(o) for o in graph.objects(SAMPLE_DATASET, PROV.wasDerivedFrom)))


def test_the_landing_page_is_the_release_index_when_the_site_is_published(sample_run, tmp_path):
    """One landing page: the release's index.html (a foaf:Document) with the site, the wiki
    without it; the wiki is what the dataset is derived from either way."""
    wiki = "https://movilab.org/wiki/"
    pages = {}
    for name, extra in (("site", ()), ("no-site", ("--no-site",))):
        result = build(sample_run, tmp_path / name, "--publication-url",
                       "https://data.example.org/x/", *extra)
        assert result.exit_code == 0, result.output
        graph = rdflib.Graph().parse(tmp_path / name / "catalog.ttl", format="turtle")
        pages[name] = landing(graph)
        for page in pages[name][0]:
            assert (rdflib.URIRef(page), rdflib.RDF.type, FOAF.Document) in graph
    assert (tmp_path / "site" / "index.html").is_file()
    assert not (tmp_path / "no-site" / "index.html").exists()
    derived = sorted([GEOGRAPHY_SOURCE["url"], wiki])
    assert pages["site"] == (["https://data.example.org/x/index.html"], derived)
    assert pages["no-site"] == ([wiki], derived)
    catalogue = (tmp_path / "no-site" / "catalog.ttl").read_text(encoding="utf-8")
    assert "index.html" not in catalogue and "/site/" not in catalogue
