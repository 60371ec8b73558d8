"""The map stage's fast terms (model/rdf.py, pipeline/map_terms.py) write the bytes the rdflib
terms they replace write, and the fast IRI check (model/iri.py) never accepts what the RFC 3987
grammar refuses."""

from __future__ import annotations

import random

import pytest
from rdflib import XSD, Literal, URIRef

from tierslieux.model import iri
from tierslieux.model.iri import is_iri
from tierslieux.model.rdf import int_token, nt_line, nt_term, term_line, term_lines, text_token
from tierslieux.pipeline.map_terms import TL, as_term, lexical

TEXTS = ["", "plain", 'a "quoted" \\ text', "line\nbreak\r\ttab", "\x00\x01\x1f\x7f",
         "accents é ü œ", "lone \ud800 surrogate", "\ufffe\uffff\ufffd", "emoji \U0001F600",
         "U+2028 \u2028 U+0085 \u0085"]


@pytest.mark.parametrize("text", TEXTS)
def test_text_tokens_are_what_rdflib_literals_write(text: str) -> None:
    assert text_token(text) == nt_term(Literal(text))
    assert text_token(text, "fr") == nt_term(Literal(text, lang="fr"))
    assert lexical(text_token(text)) == str(text).replace("\ud800", "\ufffd")


@pytest.mark.parametrize("number", [0, -1, 7, 10**30, True, False])
def test_int_tokens_are_what_rdflib_literals_write(number: int) -> None:
    assert int_token(number) == nt_term(Literal(number))


def test_rule_terms_become_fast_terms() -> None:
    assert as_term(URIRef(TL.Commune)) == TL.Commune == "https://w3id.org/tierslieux/ontology#Commune"
    typed = Literal("2023-07-20", datatype=XSD.date)
    assert as_term(typed) == '"2023-07-20"^^<http://www.w3.org/2001/XMLSchema#date>'
    with pytest.raises(TypeError):
        as_term(3)


def test_lines_of_fast_terms_are_the_lines_of_rdflib_terms() -> None:
    s, p = "https://example.org/page/Caf%C3%A9/section/lead", TL.text
    for text in TEXTS:
        assert term_line(s, p, text_token(text, "fr")) == nt_line(
            (URIRef(s), URIRef(p), Literal(text, lang="fr")))
    assert term_line(s, p, "https://example.org/x") == nt_line(
        (URIRef(s), URIRef(p), URIRef("https://example.org/x")))
    triples = {(s, p, text_token("b")), (s, p, text_token("a")), (s, p, text_token("a"))}
    assert term_lines(triples) == sorted({term_line(*t) for t in triples})
    with pytest.raises(ValueError, match="not an IRI"):
        term_line(s, p, "http://a%zz")


def test_the_fast_iri_check_accepts_only_iris() -> None:
    rnd = random.Random(16)
    pieces = ["a", "Z", "0", "/", "%", "41", "zz", ":", "@", "?", "#", "[", "]", "é", "\u00a0",
              "\ufdd0", "\uffef", "\ufffe", " ", ".", "-", "~", "!", "'", "\ud800", "\U0010ffff",
              "\x85", "<", "|"]
    fast = 0
    for _ in range(30_000):
        text = rnd.choice(["http://", "https://", "http:", "ftp://"]) + "".join(
            rnd.choice(pieces) for _ in range(rnd.randint(0, 10)))
        if iri._PLAIN_IRI.fullmatch(text):
            fast += 1
            assert iri._IRI.fullmatch(text), text
        assert is_iri(text) == (iri._IRI.fullmatch(text) is not None), text
    assert fast > 1000  # the fast path is taken, not only skipped


def test_triple_keys_of_byte_lines_are_triple_keys() -> None:
    from tierslieux.pipeline.runs import _triple_keys, triple_key

    lines = ['<a> <p> "x > <y> z" .', "<a/b> <p> <o> .", '<a> <p> "o"@fr .', "<é> <p> <o> ."]
    odd = lines + ["_:b0 <p> <o> .", ""]  # a blank node subject, an empty line
    for sample in (lines, odd, lines * 30_000):
        data = [line.encode("utf-8") for line in sample]
        assert _triple_keys(data) == [triple_key(line).encode("utf-8") for line in sample]


def test_fold_keep_length_is_the_per_character_fold() -> None:
    import unicodedata

    from tierslieux.model.clean import _fold_keep_length

    def by_loop(text: str) -> str:
        out = []
        for ch in text:
            base = unicodedata.normalize("NFKD", ch)
            base = "".join(c for c in base if not unicodedata.combining(c)) or ch
            out.append(base[0].lower() if len(base[0].lower()) == 1 else ch)
        return "".join(out)

    rnd = random.Random(5)
    alphabet = "aZ .É éèçœŒßİﬁ①Ⅻ\u0301\u00a0ǅ\U0001d400" + "".join(map(chr, range(0x370, 0x400)))
    for _ in range(2000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))
        assert _fold_keep_length(text) == by_loop(text), text
        assert len(_fold_keep_length(text)) == len(text)
    assert _fold_keep_length("Fermé DEPUIS") == "ferme depuis"


@pytest.mark.parametrize("block", [1, 50, 1 << 16])
def test_the_block_merge_writes_what_the_line_merge_writes(tmp_path, block: int) -> None:
    from tierslieux.pipeline.runs import _merge, _merge_bytes, run_paths, write_run

    rnd = random.Random(block)
    shared = [f'<https://e.org/person/p{n}> <https://e.org/p> "n{n}" .' for n in range(40)]
    names = []
    for run in range(7):
        pages = [[f"<https://e.org/page/R{run}P{page}> <https://e.org/p{k % 3}> "
                  f'"{rnd.choice(["é", "a", "z", "x > <y>"])}{k}"@fr .' for k in range(30)]
                 + rnd.sample(shared, 10) for page in range(rnd.randint(1, 5))]
        if run == 3:
            pages = [[]]  # a run of pages without a line
        write_run(tmp_path, f"r{run}", pages)
        names.append(f"r{run}")
    for which in (0, 1):
        paths = [run_paths(tmp_path, name)[which] for name in names]
        expected = "".join(_merge(paths)).encode("utf-8")
        kept = tmp_path / f"kept-{which}"
        count = _merge_bytes(paths, kept, block)
        assert kept.read_bytes() == expected
        assert count == expected.count(b"\n")
