"""The SQLite store: idempotent upserts, stable keys across moves, deletions, transactions."""

from __future__ import annotations

import pytest

from tierslieux.errors import StoreError
from tierslieux.model.records import PageRevision, SiteInfo
from tierslieux.pipeline.store import Store


def rev(page_id=1, rev_id=10, title="La Myne", text="texte", ns=0, **kw) -> PageRevision:
    return PageRevision(page_id=page_id, namespace=ns, title=title, rev_id=rev_id,
                        parent_id=kw.pop("parent_id", None),
                        timestamp=kw.pop("timestamp", "2025-01-01T00:00:00Z"),
                        sha1=None, contributor=kw.pop("contributor", "Alice"), text=text, **kw)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "s.sqlite") as s:
        yield s


def test_same_revision_twice_changes_nothing(store):
    assert store.upsert([rev()]).new == 1
    before = list(store.pages())
    counts = store.upsert([rev()])
    assert (counts.new, counts.changed, counts.unchanged) == (0, 0, 1)
    assert list(store.pages()) == before


def test_newer_revision_replaces_older_is_ignored(store):
    store.upsert([rev(rev_id=10, text="a")])
    assert store.upsert([rev(rev_id=12, text="b", contributors=("Bob",))]).changed == 1
    assert store.upsert([rev(rev_id=11, text="stale")]).unchanged == 1
    page = store.get(1)
    assert (page.revision.rev_id, page.revision.text) == (12, "b")
    assert page.revision.contributors == ("Bob",)


def test_move_keeps_key_and_records_old_title(store):
    store.upsert([rev(title="La Myne")])
    assert store.move(1, 0, "La MYNE")
    page = store.get(1)
    assert page.revision.title == "La MYNE"
    assert page.key == "La_Myne"
    assert page.alt_titles == ("La Myne",)
    # a harvest that sees the page under its new title keeps the identity too
    store.upsert([rev(rev_id=20, title="La MYNE")])
    assert store.get(1).key == "La_Myne"


def test_new_page_at_a_moved_page_old_title_gets_a_distinct_key(store):
    store.upsert([rev(page_id=1, title="A")])
    store.move(1, 0, "B")
    store.upsert([rev(page_id=2, rev_id=30, title="A")])
    assert {p.key for p in store.pages()} == {"A", "A~2"}


def test_delete_is_remembered(store):
    store.upsert([rev(), rev(page_id=2, rev_id=11, title="Autre")])
    assert store.delete(2, deleted_at="2025-03-01T00:00:00Z")
    assert [p.revision.title for p in store.pages()] == ["La Myne"]
    assert [d["title"] for d in store.deleted()] == ["Autre"]
    assert not store.delete(2)
    # restored: it comes back and leaves the deleted list
    store.upsert([rev(page_id=2, rev_id=11, title="Autre")])
    assert store.deleted() == []


def test_pages_sorted_by_key_and_filtered_by_namespace(store):
    store.upsert([rev(page_id=3, rev_id=3, title="Zèbre"), rev(page_id=1, rev_id=1, title="Abc"),
                  rev(page_id=2, rev_id=2, title="Modèle:Tiers-lieu", ns=10)])
    assert [p.key for p in store.pages()] == ["Abc", "Modèle:Tiers-lieu", "Zèbre"]
    assert [p.key for p in store.pages([10])] == ["Modèle:Tiers-lieu"]
    assert store.newest_timestamp() == "2025-01-01T00:00:00Z"


def test_transaction_rolls_back_on_error(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.upsert([rev()])
            raise RuntimeError("killed")
    assert store.count() == 0


def test_site_info_and_meta_round_trip(tmp_path):
    site = SiteInfo("Movilab", "https://movilab.org/wiki/$1", "https://movilab.org/index.php",
                    namespaces=((0, ""), (10, "Modèle")))
    with Store(tmp_path / "s.sqlite") as s:
        s.set_site_info(site)
        s.set_meta("continue", "abc")
    with Store(tmp_path / "s.sqlite") as s:
        assert s.site_info == site
        assert s.get_meta("continue") == "abc"


def test_missing_or_foreign_file(tmp_path):
    with pytest.raises(StoreError, match="no store at"):
        Store(tmp_path / "absent.sqlite", create=False)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a tierslieux store"):
        Store(junk)
