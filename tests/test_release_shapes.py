"""The shapes, the ontology and inference agree, and a release is checked with its own shapes.

The header of ``shapes.ttl`` says how to validate a release with pyshacl; these tests run
exactly its commands (the pyshacl command line) and its Python example (as a doctest) in the
sample release, and ``tierslieux validate DIR`` on copies whose shapes were changed.
"""

from __future__ import annotations

import doctest
import hashlib
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import RDF, Graph, URIRef

from tierslieux.cli import cli
from tierslieux.ontology import load_ontology
from tierslieux.ontology.namespace import TL

SCHEMA = "http://schema.org/"


def _header(release: Path) -> str:
    text = (release / "shapes.ttl").read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if line.startswith("#"))


def _commands(release: Path) -> list[str]:
    return [line[1:].strip() for line in _header(release).splitlines()
            if line[1:].strip().startswith("pyshacl ")]


def test_the_header_gives_one_command_per_inference_mode(sample_release):
    commands = _commands(sample_release)
    assert [re.search(r"-i (\w+)", c)[1] for c in commands] == ["none", "rdfs"]


@pytest.mark.parametrize("inference", ["none", "rdfs"])
def test_the_sample_conforms_the_way_the_header_says(sample_release, inference):
    """pyshacl's own command line, as written in the header, in the release folder."""
    (command,) = [c for c in _commands(sample_release) if f"-i {inference} " in c]
    argv = shlex.split(command)
    argv[0] = str(Path(sys.executable).parent / "pyshacl")
    done = subprocess.run(argv + ["-f", "human"], cwd=sample_release, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Conforms: True" in done.stdout
    assert "Severity: sh:Violation" not in done.stdout
    # warnings are allowed: the two old-format places say no town
    assert done.stdout.count("Severity: sh:Warning") == 2


def test_the_python_example_of_the_header_runs(sample_release, monkeypatch):
    example = "\n".join(line[1:] for line in _header(sample_release).splitlines()
                        if line[1:].strip().startswith(">>>") or line[1:].strip() == "True")
    assert "inference=\"rdfs\"" in example
    monkeypatch.chdir(sample_release)
    test = doctest.DocTestParser().get_doctest(example, {}, "shapes.ttl header", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False) == doctest.TestResults(failed=0, attempted=5)


def test_rdfs_and_owl_reasoning_infer_nothing_false():
    """A postal address of schema.org is no third place; a link target is no harvested page."""
    import owlrl

    graph = load_ontology()
    address, page, target = (URIRef(f"https://example.org/{n}") for n in ("a", "p", "q"))
    for name in ("postalCode", "streetAddress", "addressLocality", "email", "telephone"):
        graph.parse(data=f'<{address}> <{SCHEMA}{name}> "x" .', format="nt")
    graph.add((address, RDF.type, URIRef(SCHEMA + "PostalAddress")))
    graph.add((page, RDF.type, TL.WikiPage))
    for link in (TL.linksTo, TL.redirectsTo, TL.subPageOf):
        graph.add((page, link, target))
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    assert set(graph.objects(address, RDF.type)) & {TL.ThirdPlace, TL.Organisation} == set()
    assert (target, RDF.type, TL.WikiPage) not in graph
    # the alignments still say what the properties are
    assert (TL.postalCode, URIRef("http://www.w3.org/2000/01/rdf-schema#subPropertyOf"),
            URIRef(SCHEMA + "postalCode")) in graph


# ------------------------------------------------------------------ validate DIR


def _copy_with(tmp_path: Path, release: Path, name: str, text: str) -> Path:
    """A copy of the release with ``name`` replaced and SHA256SUMS fixed to match."""
    copy = tmp_path / "copy"
    shutil.copytree(release, copy)
    (copy / name).write_text(text, encoding="utf-8")
    digest = hashlib.sha256((copy / name).read_bytes()).hexdigest()
    sums = (copy / "SHA256SUMS").read_text(encoding="utf-8")
    (copy / "SHA256SUMS").write_text(
        re.sub(rf"^[0-9a-f]{{64}}  {re.escape(name)}$", f"{digest}  {name}", sums,
               flags=re.MULTILINE), encoding="utf-8")
    return copy


TAMPERED = """
tls:TamperedShape a sh:NodeShape ;
    sh:targetClass tl:ThirdPlace ;
    sh:property [ sh:path tl:siret ; sh:minCount 1 ;
                  sh:message "tampered: a third place needs a SIRET"@en ] .
"""


def test_validate_applies_the_shapes_of_the_folder(tmp_path, sample_release):
    shapes = (sample_release / "shapes.ttl").read_text(encoding="utf-8")
    copy = _copy_with(tmp_path, sample_release, "shapes.ttl", shapes + TAMPERED)
    result = CliRunner().invoke(cli, ["validate", str(copy)])
    assert result.exit_code == 5, result.output
    assert result.output.count("tampered: a third place needs a SIRET") == 3  # three places
    assert "SHA256SUMS" not in result.output  # the checksums were fixed: the rules caught it


def test_validate_applies_shapes_the_compiler_does_not_run(tmp_path, sample_release):
    """sh:targetNode is not compiled: pyshacl checks the folder's shapes instead."""
    shapes = (sample_release / "shapes.ttl").read_text(encoding="utf-8")
    extra = ("\ntls:Targeted a sh:NodeShape ; sh:targetNode "
             "<https://w3id.org/tierslieux/movilab/place/Le_WIP> ;\n"
             "    sh:property [ sh:path tl:siret ; sh:minCount 1 ; "
             'sh:message "targeted: Le WIP needs a SIRET"@en ] .\n')
    copy = _copy_with(tmp_path, sample_release, "shapes.ttl", shapes + extra)
    result = CliRunner().invoke(cli, ["validate", str(copy)])
    assert result.exit_code == 5, result.output
    assert result.output.count("targeted: Le WIP needs a SIRET") == 1


def test_validate_uses_the_ontology_of_the_folder(tmp_path, sample_release):
    """Without its concept schemes, the sh:class checks of the themes fail."""
    ontology = (sample_release / "ontology.ttl").read_text(encoding="utf-8")
    broken = ontology.replace("a skos:Concept , tl:Theme", "a skos:Concept")
    broken = re.sub(r"(tl:theme-\w+) a tl:Theme", r"\1 a skos:Concept", broken)
    assert broken != ontology
    copy = _copy_with(tmp_path, sample_release, "ontology.ttl", broken)
    result = CliRunner().invoke(cli, ["validate", str(copy)])
    assert result.exit_code == 5, result.output
    assert "theme" in result.output


@pytest.mark.parametrize("text, message", [
    ("@prefix sh: <http://www.w3.org/ns/shacl#> .\nthis is not turtle\n",
     "SHACL: not checked: shapes.ttl is not valid Turtle"),
    ("@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
     "<https://example.org/s> a sh:NodeShape ; sh:targetClass "
     "<https://w3id.org/tierslieux/ontology#ThirdPlace> ;\n"
     '  sh:property [ sh:path <https://w3id.org/tierslieux/ontology#name> ; '
     'sh:minCount "many" ] .\n',
     "SHACL: not checked: the SHACL shapes cannot be used"),
])
def test_broken_shapes_in_the_folder_give_one_line(tmp_path, sample_release, text, message):
    copy = _copy_with(tmp_path, sample_release, "shapes.ttl", text)
    result = CliRunner().invoke(cli, ["validate", str(copy)])
    assert result.exit_code == 5, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if message in line]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output


def test_the_untouched_sample_is_valid(sample_release):
    result = CliRunner().invoke(cli, ["validate", str(sample_release)])
    assert result.exit_code == 0, result.output


def test_shapes_published_are_the_bundled_ones(sample_release):
    from tierslieux.ontology import SHAPES_FILE, read_text

    assert (sample_release / "shapes.ttl").read_text(encoding="utf-8") == read_text(SHAPES_FILE)
    assert Graph().parse(sample_release / "shapes.ttl")  # parses


def test_validate_a_dump_with_blank_nodes_reports_without_a_traceback(tmp_path, sample_release):
    import gzip

    lines = gzip.decompress((sample_release / "tierslieux.nt.gz").read_bytes()).decode()
    place = "<https://w3id.org/tierslieux/movilab/place/Le_WIP>"
    extra = (f"{place} <{TL.memberOf}> _:alic .\n"
             f"_:alice <{RDF.type}> <{TL.Network}> .\n")
    copy = tmp_path / "copy"
    shutil.copytree(sample_release, copy)
    (copy / "tierslieux.nt.gz").write_bytes(gzip.compress(
        "".join(sorted((lines + extra).splitlines(keepends=True))).encode(), mtime=0))
    digest = hashlib.sha256((copy / "tierslieux.nt.gz").read_bytes()).hexdigest()
    sums = (copy / "SHA256SUMS").read_text(encoding="utf-8")
    (copy / "SHA256SUMS").write_text(re.sub(r"^[0-9a-f]{64}  tierslieux\.nt\.gz$",
                                            f"{digest}  tierslieux.nt.gz", sums,
                                            flags=re.MULTILINE), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(copy)])
    assert result.exit_code == 5, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    # the blank nodes are checked: alic is no network, alice is a network without a name
    assert "memberOf: tl:memberOf must point to a tl:Network (value: alic)" in result.output
    assert "alice: name: a network needs a tl:name" in result.output
