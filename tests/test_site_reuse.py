"""A rebuild links the site's documents that did not change from the release in place
(tierslieux/site/record.py) and renders the others: the site is the bytes of a full build of
the same lines, the published release is never written to, and anything that does not match
(a key, a file's size, mtime or inode, a damaged record) makes the documents rendered again.

The lines are a small wiki of third places in regions, each a partner of the next one: a
place's page shows its region's label and the labels of the places it links to and that link
to it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from test_exports import BASE, RDF_TYPE, SITE, TL, release

from tierslieux.errors import ValidationError
from tierslieux.exports.release import ReleaseMeta
from tierslieux.site.record import RECORD_FILE, SUFFIXES

LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
META = ReleaseMeta(site=SITE, diff_threshold=1.0)
PLACES = 12
REGIONS = 3


def wiki(labels: dict[str, str] | None = None, gone: frozenset[str] = frozenset(),
         extra: tuple[str, ...] = ()) -> list[str]:
    """The lines of the wiki: places ``place/P<i>`` in regions ``region/R<i % 3>``, each a
    partner of the next; ``labels`` replaces the label of an entity (by name), ``gone`` leaves
    places out, ``extra`` adds lines."""
    labels = labels or {}
    out = list(extra)
    for k in range(REGIONS):
        name = f"region/R{k}"
        out += [f"<{BASE}{name}> <{RDF_TYPE}> <{TL}Region> .",
                f'<{BASE}{name}> <{LABEL}> "{labels.get(name, f"Région {k}")}"@fr .']
    for i in range(PLACES):
        name = f"place/P{i}"
        if name in gone:
            continue
        subject = f"<{BASE}{name}>"
        out += [f"{subject} <{RDF_TYPE}> <{TL}ThirdPlace> .",
                f'{subject} <{LABEL}> "{labels.get(name, f"Lieu {i}")}"@fr .',
                f"{subject} <{TL}inRegion> <{BASE}region/R{i % REGIONS}> ."]
        if i + 1 < PLACES:
            out.append(f"{subject} <{TL}partner> <{BASE}place/P{i + 1}> .")
    return sorted(set(out))


def site_files(out: Path) -> dict[str, bytes]:
    """Every file of the release's site/ folder, by path under it."""
    site = out / "site"
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*"))
            if p.is_file()}


def inodes(out: Path) -> dict[str, int]:
    """The inode of every entity document (a path under site/ with a folder)."""
    site = out / "site"
    return {p.relative_to(site).as_posix(): p.stat().st_ino for p in site.rglob("*")
            if p.is_file() and "/" in p.relative_to(site).as_posix()}


def rendered(before: dict[str, int], after: dict[str, int]) -> set[str]:
    """The entities whose documents are not the files of ``before`` (by inode)."""
    fresh = {name for name, inode in after.items() if before.get(name) != inode}
    entities = {name.rsplit(".", 1)[0] for name in fresh}
    # an entity's four documents are linked or rendered together
    assert fresh == {e + s for e in entities for s in SUFFIXES}, sorted(fresh)
    return entities


def check_sums(out: Path) -> None:
    """SHA256SUMS gives every site file's SHA-256 (those of linked files come from the
    record)."""
    listed = dict(reversed(line.split("  ", 1)) for line in
                  (out / "SHA256SUMS").read_text(encoding="utf-8").splitlines())
    for name, data in site_files(out).items():
        assert listed["site/" + name] == hashlib.sha256(data).hexdigest(), name


def full_build(lines: list[str], out: Path) -> dict[str, bytes]:
    """The site of a build of ``lines`` without any cache."""
    release(lines, out, META)
    return site_files(out)


@pytest.fixture
def first(tmp_path: Path) -> tuple[Path, Path]:
    """A release of the wiki built with a cache folder: (the release, the cache folder)."""
    out, cache = tmp_path / "exports", tmp_path / "cache"
    release(wiki(), out, META, segment_cache=cache)
    assert (cache / RECORD_FILE).is_file()
    return out, cache


CHANGES = {
    # a place's own triples change: only its page
    "page": (dict(extra=(f'<{BASE}place/P3> <{TL}text> "Un atelier"@fr .',)), {"place/P3"}),
    # a place is deleted: the place it was a partner of, its partner, its region lose links
    "removed": (dict(gone=frozenset({"place/P7"})), {"place/P6", "place/P8", "region/R1"}),
    # a region's label is shown by the pages of its places
    "region label": (dict(labels={"region/R0": "Bretagne"}),
                     {"region/R0", "place/P0", "place/P3", "place/P6", "place/P9"}),
    # a place's label is shown by the places it links to and from, and by its region
    "linked label": (dict(labels={"place/P5": "La Fabrique"}),
                     {"place/P5", "place/P4", "place/P6", "region/R2"}),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_rebuild_renders_what_changed_and_links_the_rest(
        first: tuple[Path, Path], tmp_path: Path, change: str) -> None:
    out, cache = first
    kwargs, expected = CHANGES[change]
    lines = wiki(**kwargs)
    published = site_files(out)
    before = inodes(out)
    release(lines, out, META, segment_cache=cache)
    assert site_files(out) == full_build(lines, tmp_path / "full")
    assert rendered(before, inodes(out)) == expected
    # the release that was in place, kept as .previous, was not written to through the links
    assert site_files(out.with_name(out.name + ".previous")) == published
    linked = out / "site" / "place" / "P1.html"
    assert linked.stat().st_nlink == 2
    check_sums(out)
    # and the record written describes the new release: a rebuild of the same lines links all
    again = inodes(out)
    release(lines, out, META, segment_cache=cache)
    assert rendered(again, inodes(out)) == set()
    assert site_files(out) == site_files(tmp_path / "full")


def test_a_file_changed_in_place_is_rendered_again(first: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    """A published document edited in place (same size, its mtime changed) is not linked;
    one touched (same bytes, another mtime) neither."""
    out, cache = first
    edited, touched = out / "site" / "place" / "P2.ttl", out / "site" / "region" / "R1.nt"
    data = edited.read_bytes()
    edited.write_bytes(data.replace(b"Lieu 2", b"Lieu X"))
    assert edited.stat().st_size == len(data)
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    before = inodes(out)
    release(wiki(), out, META, segment_cache=cache)
    assert rendered(before, inodes(out)) == {"place/P2", "region/R1"}
    assert site_files(out) == full_build(wiki(), tmp_path / "full")
    check_sums(out)


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-10] ^= 1  # a byte of the last entity's line
    path.write_bytes(bytes(data))


DAMAGES = {
    "missing": lambda path: path.unlink(),
    "damaged": _damage,
    "truncated": lambda path: path.write_bytes(path.read_bytes()[:-30]),
    "empty": lambda path: path.write_bytes(b""),
    "not json": lambda path: path.write_bytes(b"\x00garbage\n" + path.read_bytes()),
    "another format": lambda path: path.write_bytes(
        path.read_bytes().replace(b'"format": 1', b'"format": 0', 1)),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_or_missing_record_renders_everything(
        first: tuple[Path, Path], tmp_path: Path, damage: str) -> None:
    out, cache = first
    DAMAGES[damage](cache / RECORD_FILE)
    before = inodes(out)
    release(wiki(), out, META, segment_cache=cache)
    assert rendered(before, inodes(out)) == {name.rsplit(".", 1)[0] for name in before}
    assert site_files(out) == full_build(wiki(), tmp_path / "full")
    check_sums(out)


def test_a_release_without_the_site_or_the_cache_in_between(first: tuple[Path, Path]) -> None:
    """A release without a site removes the record; one without the cache folder leaves a
    record that matches none of its files: the next site is rendered whole either way."""
    out, cache = first
    without_site = ReleaseMeta(site=SITE, diff_threshold=1.0, linked_data_site=False)
    release(wiki(), out, without_site, segment_cache=cache)
    assert not (cache / RECORD_FILE).exists() and not (out / "site").exists()
    release(wiki(), out, META, segment_cache=cache)
    assert (cache / RECORD_FILE).is_file()
    release(wiki(), out, META)  # no cache: the record stays, for another release
    before = inodes(out)
    release(wiki(), out, META, segment_cache=cache)
    assert rendered(before, inodes(out)) == {name.rsplit(".", 1)[0] for name in before}
    after = inodes(out)
    release(wiki(), out, META, segment_cache=cache)
    assert rendered(after, inodes(out)) == set()


def test_a_failed_release_leaves_the_record_of_the_one_in_place(
        first: tuple[Path, Path], tmp_path: Path) -> None:
    """A release refused by a validator does not replace the record: the next build still
    links what the release in place holds; the refused build's pending record is removed once
    a release is published."""
    out, cache = first
    lines = wiki(labels={"place/P5": "La Fabrique"})
    with pytest.raises(ValidationError, match="refused"):
        release(lines, out, META, segment_cache=cache, validators=[lambda staged: ["refused"]])
    assert [p.name for p in cache.glob(f".{RECORD_FILE}.*")] != []
    before = inodes(out)
    release(lines, out, META, segment_cache=cache)
    assert rendered(before, inodes(out)) == CHANGES["linked label"][1]
    assert site_files(out) == full_build(lines, tmp_path / "full")
    assert [p.name for p in cache.glob(f".{RECORD_FILE}.*")] == []


def test_an_entity_linked_in_part_is_rendered_into_new_files(
        first: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A link that fails after the entity's first files were linked: its four documents are
    rendered into new files, and the links already made are replaced, not written through
    (the release in place keeps its own files)."""
    out, cache = first
    link = os.link

    def failing(source, target, **kwargs):
        if str(target).endswith("/place/P4.jsonld"):
            raise OSError("no link")
        return link(source, target, **kwargs)

    monkeypatch.setattr(os, "link", failing)
    before = inodes(out)
    release(wiki(), out, META, segment_cache=cache)
    assert rendered(before, inodes(out)) == {"place/P4"}
    previous = out.with_name(out.name + ".previous") / "site" / "place"
    assert (previous / "P4.html").stat().st_ino == before["place/P4.html"]
    assert (previous / "P4.html").stat().st_nlink == 1
    assert site_files(out) == full_build(wiki(), tmp_path / "full")


def _recorded(path: Path) -> list[list[str]]:
    """The lines of a site's record without the files' mtime and inode (two writes of the
    same files differ only there): name, key, and each file's SHA-256 and size, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [[cell for n, cell in enumerate(line.split("\t")) if n < 2 or n % 4 in (2, 3)]
            for line in lines]


def _site_in_shares(lines: list[str], out: Path, cache: Path, shares: int,
                    published: Path | None = None, merged: bool = False):
    """``write_site`` of ``lines`` in ``shares`` shares into ``out`` (one after the other, the
    last first, as the release's workers run them side by side), joined. ``merged``: the triples are a
    merged triple-order file, as in a build (each share reads its stretch of it), else a
    list (each share takes the entities whose name hashes to it)."""
    from tierslieux.exports.turtle import write_turtle
    from tierslieux.model.lines import triple_order
    from tierslieux.model.rdf import CORE_PREFIXES
    from tierslieux.pipeline.runs import TripleOrder, triple_key
    from tierslieux.site import join_site, write_site

    ordered = triple_order(lines)
    if merged:
        keep = out.with_name(out.name + ".triples")
        keep.write_text("".join(sorted(triple_key(line) + "\n" for line in lines)),
                        encoding="utf-8")
        ordered = TripleOrder([keep], keep=keep)
    cache.mkdir(exist_ok=True)
    # the last share first: side by side, the shares end in any order
    parts = [write_site(ordered, out, BASE, CORE_PREFIXES, write_turtle, "Movilab",
                        cache_folder=cache, published=published, share=(k, shares))
             for k in reversed(range(shares))]
    return join_site(parts[::-1], cache)


@pytest.mark.parametrize("merged", [False, True], ids=["by-name", "by-stretch"])
@pytest.mark.parametrize("shares", [2, 3])
def test_a_site_written_in_shares_is_the_site_written_in_one_pass(
        tmp_path: Path, shares: int, merged: bool) -> None:
    """Each share writes the documents of its entities (those of its stretch of the merged
    file, or by name) and the site's own files come with the first: the shares together write
    the files, the checksums, the counts and the record one pass writes; a rebuild in shares
    links what one pass links."""
    from tierslieux.site.record import keep_site_record

    # two IRIs that get one name (one percent-encoded), far apart in triple order (a share
    # may own one and not the other): the documents are the last one's, as one pass leaves
    between = tuple(f'<{BASE}a/M{i}> <{LABEL}> "Entre {i}"@fr .' for i in range(40))
    lines = wiki(extra=(f'<{BASE}a/%C3%89t%C3%A9> <{LABEL}> "Encodé"@fr .',
                        f'<{BASE}a/Été> <{LABEL}> "Écrit"@fr .', *between))
    one = _site_in_shares(lines, tmp_path / "one", tmp_path / "cache-one", 1)
    split = _site_in_shares(lines, tmp_path / "split", tmp_path / "cache-split", shares,
                            merged=merged)
    assert "Écrit" in (tmp_path / "one" / "site" / "a" / "Été.html").read_text()
    assert site_files(tmp_path / "split") == site_files(tmp_path / "one")
    assert split == one  # pages, places, regions, classes, kinds, files
    assert (split.sums, split.reused, split.rendered) == (one.sums, 0, one.pages)
    assert split.record is None and _recorded(split.record_file) == _recorded(one.record_file)
    # the shares are not empty: each wrote some of the entities
    names = {name.rsplit(".", 1)[0] for name in one.sums if "/" in name}
    from tierslieux.site.shares import share_of
    if not merged:
        assert {share_of(name, shares) for name in names} == set(range(shares))

    # published, then rebuilt in shares with one label changed: what one pass would link
    for cache, pending in ((tmp_path / "cache-one", one), (tmp_path / "cache-split", split)):
        keep_site_record(cache, pending.record_file)
    changed = wiki(labels={"place/P5": "La Fabrique"})
    again_one = _site_in_shares(changed, tmp_path / "again-one", tmp_path / "cache-one", 1,
                                published=tmp_path / "one" / "site" / "..")
    again = _site_in_shares(changed, tmp_path / "again", tmp_path / "cache-split", shares,
                            published=tmp_path / "split" / "site" / "..", merged=merged)
    assert site_files(tmp_path / "again") == site_files(tmp_path / "again-one")
    assert (again.reused, again.rendered) == (again_one.reused, again_one.rendered)
    assert again.rendered == 4  # P5, P4, P6 and R2 (the two places that left are not linked)
    assert _recorded(again.record_file) == _recorded(again_one.record_file)
