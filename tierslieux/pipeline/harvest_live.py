"""The live harvest of a MediaWiki API: the plan, the listings, the fetch loop.

The live harvest of a MediaWiki API: the plan, the listings, the fetch loop, resuming
an interrupted harvest (``harvest.harvest_wiki`` runs it)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from tierslieux.errors import HarvestError
from tierslieux.model.records import PageRevision
from tierslieux.pipeline.smw_types import PROPERTY_NAMESPACE
from tierslieux.pipeline.harvest_record import (
    HarvestReport,
    Progress,
    check_same_wiki,
    chunks,
    now_utc,
)
from tierslieux.pipeline.store import Store
from tierslieux.pipeline.wikiapi import Wiki

# --------------------------------------------------------------------------- live wiki
#
# A live harvest is planned, then run in batches. The plan (mode, checkpoint, what is left to
# fetch) lives in the store's meta table under STATE_KEY and is rewritten in the same
# transaction as each batch of pages, so a killed harvest resumes where its last batch ended.
#
# - full: generator=allpages (or categorymembers) with the latest revision's content, 50 pages
#   a request, following API continuation; stored pages absent from the listing are deleted.
# - incremental: list=recentchanges since the previous checkpoint (edits, new pages, and the
#   log rows of deletions, restores, moves, merges and imports) gives the page ids and titles
#   that changed; their current state is fetched by page id, 50 a request. A page that no
#   longer exists is deleted, a page under a new title is moved (same key, old title kept).
# - when recentchanges no longer reaches back to the checkpoint ($wgRCMaxAge purged it: the
#   oldest change the wiki still holds is newer than the checkpoint), a listing of page ids
#   and latest revision ids is compared with the store instead.

#: pages per API request and per store transaction in a live harvest
API_BATCH = 50
#: seconds taken off the previous checkpoint: edits being saved while it was read
SAFETY_OVERLAP = 300
#: meta key of the plan and progress of the live harvest in progress
STATE_KEY = "wiki_harvest"

_REV_PROPS = "ids|timestamp|sha1|user|comment|content|contentmodel"
#: log types whose rows name pages to re-read (restore is delete/restore)
_LOG_TYPES = frozenset({"delete", "move", "merge", "import"})
_TS = "%Y-%m-%dT%H:%M:%SZ"


def _base36_sha1(hexdigest: str | None) -> str | None:
    """The API gives SHA-1 in hex, exports in base 36 (31 digits): store the export form."""
    if not hexdigest:
        return None
    n = int(hexdigest, 16)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out.rjust(31, "0")


def _shift(timestamp: str, seconds: int) -> str:
    moment = datetime.strptime(timestamp, _TS).replace(tzinfo=timezone.utc)
    return (moment - timedelta(seconds=seconds)).strftime(_TS)


class LiveHarvest:
    def __init__(self, wiki: Wiki, store: Store, namespaces: Iterable[int],
                 categories: Iterable[str], batch_size: int, overlap: int,
                 progress: Progress | None) -> None:
        self.wiki = wiki
        self.store = store
        self.batch_size = batch_size
        self.overlap = overlap
        self.progress = progress
        chosen = {int(n) for n in namespaces}
        if not chosen:
            raise HarvestError("no namespace to harvest")
        if wiki.namespace_name(PROPERTY_NAMESPACE):
            # the wiki has Semantic MediaWiki's property pages: their declared types and
            # allowed values type the annotations of the other pages
            chosen.add(PROPERTY_NAMESPACE)
        self.namespaces = sorted(chosen)
        self.categories = sorted({self._category_title(c) for c in categories})
        self.selection = {"namespaces": self.namespaces, "categories": self.categories}
        self.source = wiki.canonical_api
        self.state: dict = {}
        self._abandoned: str | None = None

    # ------------------------------------------------------------------ plan
    def run(self, full: bool) -> HarvestReport:
        check_same_wiki(self.store, self.wiki.info)
        if not self._resume(full):
            self._plan(full)
        if self.state["mode"] == "full":
            self._run_listings()
        self._run_todo()
        return self._finish()

    def _category_title(self, name: str) -> str:
        local = self.wiki.namespace_name(14) or "Category"
        name = name.strip().replace("_", " ")
        prefix, sep, rest = name.partition(":")
        if sep and prefix.strip().lower() in {local.lower(), "category", "catégorie"}:
            name = rest.strip()
        if not name:
            raise HarvestError("empty category name")
        return f"{local}:{name[0].upper()}{name[1:]}"

    def _resume(self, full: bool) -> bool:
        raw = self.store.get_meta(STATE_KEY)
        if raw is None:
            return False
        state = json.loads(raw)
        if (state.get("source") == self.source and state.get("selection") == self.selection
                and (not full or state.get("mode") == "full")):
            self.state = state
            self._note(f"resumed the {state['mode']} harvest started at {state['started']}")
            return True
        with self.store.transaction():   # another wiki, selection or mode: start afresh
            self.store.finish_harvest(state["harvest_id"], finished=now_utc(),
                                      status="abandoned", checkpoint=None, stats={})
            self.store.set_meta(STATE_KEY, None)
        self._abandoned = (f"abandoned the interrupted {state.get('mode')} harvest started "
                           f"at {state.get('started')}")
        return False

    def _plan(self, full: bool) -> None:
        last = self.store.last_harvest(self.source)
        checkpoint = self.wiki.server_time or now_utc()
        state = {
            "source": self.source, "selection": self.selection, "checkpoint": checkpoint,
            "started": now_utc(), "mode": "full", "listing": 0, "cont": None, "seen": [],
            "todo": [], "total": None, "done": 0, "fetched": 0, "counts": [0, 0, 0],
            "deleted": [], "moved": [], "notes": [], "deleted_at": {},
        }
        self.state = state
        if self._abandoned:
            self._note(self._abandoned)
        gone: list[int] = []
        if full or last is None or last.checkpoint is None:
            pass
        elif last.stats.get("selection") != self.selection:
            self._note("the selection of namespaces or categories changed: full harvest")
        else:
            state["mode"] = "incremental"
            since = _shift(last.checkpoint, self.overlap)
            oldest = self._oldest_change()
            if oldest is not None and oldest <= since:
                state["todo"] = self._changes_since(since)
            else:
                listed = self._list_revisions()
                stored = self.store.revision_ids()
                state["todo"] = sorted(pid for pid, rev in listed.items() if stored.get(pid) != rev)
                gone = sorted(set(stored) - set(listed))
                self._note(
                    f"recent changes do not reach back to {since} (oldest held: "
                    f"{oldest or 'none'}): compared a listing of {len(listed)} pages "
                    f"with the store by revision id"
                )
            state["total"] = len(state["todo"])
        with self.store.transaction():
            self.store.set_site_info(self.wiki.info)
            state["harvest_id"] = self.store.begin_harvest(self.source, state["mode"],
                                                           state["started"])
            self._delete(gone)
            self._save()

    def _oldest_change(self) -> str | None:
        answer = self.wiki.call(list="recentchanges", rcdir="newer", rclimit=1,
                                rcprop="timestamp")
        rows = answer.get("query", {}).get("recentchanges", [])
        return rows[0]["timestamp"] if rows else None

    def _changes_since(self, since: str) -> list[int]:
        """Page ids to re-read: edited and new pages, and every page a log row names."""
        ids: set[int] = set()
        titles: set[str] = set()
        named: set[tuple[int, str]] = set()
        params = {"list": "recentchanges", "rcstart": since, "rcdir": "newer",
                  "rctype": "edit|new|log", "rcprop": "title|ids|timestamp|loginfo",
                  "rclimit": "max"}
        for answer, _ in self.wiki.query(params):
            for row in answer.get("query", {}).get("recentchanges", []):
                if row["type"] in ("edit", "new"):
                    if row["ns"] in self.namespaces and row.get("pageid"):
                        ids.add(row["pageid"])
                    continue
                if row.get("logtype") not in _LOG_TYPES:
                    continue
                # pages the store does not hold are found through their titles below
                if row.get("pageid") and self.store.title_of(row["pageid"]) is not None:
                    ids.add(row["pageid"])
                named.add((row["ns"], row["title"]))
                params_ = row.get("logparams") or {}
                for ns_key, title_key_ in (("target_ns", "target_title"),
                                           ("dest_ns", "dest_title")):
                    if params_.get(title_key_):
                        named.add((int(params_.get(ns_key, 0)), params_[title_key_]))
                if row["logtype"] == "delete" and row.get("logaction") == "delete":
                    self.state["deleted_at"][f"{row['ns']}|{row['title']}"] = row["timestamp"]
        for ns, title in named:
            titles.add(title)
            stored = self.store.page_id_of(ns, title)
            if stored is not None:
                ids.add(stored)
        for batch in chunks(sorted(titles), 50):
            answer = self.wiki.call(titles="|".join(batch))
            for page in answer.get("query", {}).get("pages", []):
                if "missing" not in page and page.get("pageid"):
                    ids.add(page["pageid"])
        return sorted(ids)

    def _listings(self, limit: object) -> list[dict]:
        """The generator parameters that list the selection."""
        if self.categories:
            return [{"generator": "categorymembers", "gcmtitle": cat,
                     "gcmnamespace": "|".join(map(str, self.namespaces)), "gcmlimit": limit}
                    for cat in self.categories]
        return [{"generator": "allpages", "gapnamespace": ns, "gaplimit": limit}
                for ns in self.namespaces]

    def _list_revisions(self) -> dict[int, int]:
        """page id -> latest revision id of every page of the selection."""
        listed: dict[int, int] = {}
        for params in self._listings("max"):
            for pages, _ in self.wiki.page_batches({**params, "prop": "info"}):
                for page in pages:
                    if "missing" not in page:
                        listed[page["pageid"]] = page["lastrevid"]
        return listed

    # ------------------------------------------------------------------ fetch
    def _content_params(self) -> dict:
        params = {"prop": "revisions|contributors|info", "rvprop": _REV_PROPS,
                  "rvslots": "main", "pclimit": "max"}
        if self.categories:
            params["prop"] += "|categories"
            params["clcategories"] = "|".join(self.categories)
            params["cllimit"] = "max"
        return params

    def _run_listings(self) -> None:
        listings = self._listings(self.batch_size)
        seen = set(self.state["seen"])
        while self.state["listing"] < len(listings):
            params = {**listings[self.state["listing"]], **self._content_params()}
            for pages, nxt in self.wiki.page_batches(params, self.state["cont"]):
                # a page listed twice (in two categories) is stored once
                pages = [p for p in pages if self._selected(p) and p["pageid"] not in seen]
                revs = self._revisions(pages)
                self.state["cont"] = nxt
                if nxt is None:
                    self.state["listing"] += 1
                new_ids = sorted(p["pageid"] for p in pages)
                seen.update(new_ids)
                self.state["seen"].extend(new_ids)
                self._commit(revs, [])

    def _run_todo(self) -> None:
        while self.state["todo"]:
            batch = self.state["todo"][: self.batch_size]
            params = {**self._content_params(), "pageids": "|".join(map(str, batch))}
            pages = [page for group, _ in self.wiki.page_batches(params) for page in group
                     if self._selected(page)]
            revs = self._revisions(pages)
            kept = {page["pageid"] for page in pages}   # even when its content is hidden
            self.state["todo"] = self.state["todo"][len(batch):]
            self._commit(revs, [pid for pid in batch if pid not in kept])

    def _selected(self, page: dict) -> bool:
        if "missing" in page or "invalid" in page or page.get("ns") not in self.namespaces:
            return False
        return not self.categories or bool(page.get("categories"))

    def _revisions(self, pages: list[dict]) -> list[PageRevision]:
        """The PageRevision of each of ``pages`` (all of the selection), by page id."""
        pages = sorted(pages, key=lambda p: p["pageid"])
        redirects = [p["pageid"] for p in pages if p.get("redirect")]
        targets: dict[str, str] = {}
        if redirects:
            answer = self.wiki.call(pageids="|".join(map(str, redirects)), redirects=1)
            for row in answer.get("query", {}).get("redirects", []):
                target = row["to"]
                if row.get("tointerwiki"):
                    target = f"{row['tointerwiki']}:{target}"
                targets[row["from"]] = target
        revs = []
        for page in pages:
            rev = self._revision(page, targets.get(page["title"]))
            if rev is not None:
                revs.append(rev)
        return revs

    def _revision(self, page: dict, redirect: str | None) -> PageRevision | None:
        revisions = page.get("revisions") or []
        if not revisions:
            self._note(f"{page['title']}: no revision returned, page skipped")
            return None
        rev = revisions[0]
        main = rev.get("slots", {}).get("main", {})
        if "content" not in main:
            self._note(f"{page['title']}: content of revision {rev.get('revid')} is hidden, "
                       "page skipped")
            return None
        user = None if rev.get("userhidden") else rev.get("user")
        names = {c["name"] for c in page.get("contributors", []) if c.get("name")}
        if page.get("anoncontributors"):
            names |= self._all_users(page["pageid"])
        if user:
            names.add(user)
        return PageRevision(
            page_id=page["pageid"], namespace=page["ns"], title=page["title"],
            rev_id=rev["revid"], parent_id=rev.get("parentid") or None,
            timestamp=rev["timestamp"], sha1=_base36_sha1(rev.get("sha1")),
            contributor=user, text=main["content"], redirect=redirect,
            comment=rev.get("comment") or None, model=main.get("contentmodel", "wikitext"),
            contributors=tuple(sorted(names)),
        )

    def _all_users(self, page_id: int) -> set[str]:
        """Every author of a page, IP addresses included (prop=contributors only counts them)."""
        names: set[str] = set()
        params = {"prop": "revisions", "pageids": page_id, "rvprop": "user", "rvlimit": "max"}
        for answer, _ in self.wiki.query(params):
            for page in answer.get("query", {}).get("pages", []):
                for rev in page.get("revisions", []):
                    if rev.get("user") and not rev.get("userhidden"):
                        names.add(rev["user"])
        return names

    # ------------------------------------------------------------------ store
    def _commit(self, revs: list[PageRevision], gone: list[int]) -> None:
        """One transaction: deletions, moves, new revisions, and the progress made."""
        in_batch = {rev.page_id for rev in revs} | set(gone)
        holders = {}
        for rev in revs:
            holder = self.store.page_id_of(rev.namespace, rev.title)
            if holder is not None and holder not in in_batch:
                holders[holder] = None
        if holders:   # stored pages holding a title that is now another page's
            answer = self.wiki.call(pageids="|".join(map(str, sorted(holders))))
            for page in answer.get("query", {}).get("pages", []):
                holders[page["pageid"]] = page
        with self.store.transaction():
            self._delete(gone)
            for holder, page in sorted(holders.items()):
                if page is None or "missing" in page:
                    self._delete([holder])
                else:
                    self._move(holder, page["ns"], page["title"])
            pending = [rev for rev in revs if self.store.title_of(rev.page_id)
                       not in (None, (rev.namespace, rev.title))]
            while pending:   # a chain of moves: free each target before taking it
                free = [rev for rev in pending
                        if self.store.page_id_of(rev.namespace, rev.title)
                        not in {other.page_id for other in pending if other is not rev}]
                for rev in free or pending[:1]:
                    self._move(rev.page_id, rev.namespace, rev.title)
                    pending.remove(rev)
            counts = self.store.upsert(revs, self.state["harvest_id"])
            total = [a + b for a, b in zip(self.state["counts"],
                                           (counts.new, counts.changed, counts.unchanged))]
            self.state["counts"] = total
            self.state["fetched"] += len(revs)
            self.state["done"] += len(revs) + len(gone)
            self._save()
        if self.progress:
            self.progress(self.state["done"], self.state["total"])

    def _move(self, page_id: int, namespace: int, title: str) -> None:
        old = self.store.title_of(page_id)
        if old is not None and self.store.move(page_id, namespace, title):
            self.state["moved"].append([old[1], title])

    def _delete(self, page_ids: Iterable[int]) -> None:
        for page_id in page_ids:
            old = self.store.title_of(page_id)
            if old is None:
                continue
            when = self.state["deleted_at"].get(f"{old[0]}|{old[1]}")
            self.store.delete(page_id, deleted_at=when, harvest_id=self.state["harvest_id"])
            self.state["deleted"].append(old[1])

    def _note(self, note: str) -> None:
        if note not in self.state.setdefault("notes", []):
            self.state["notes"].append(note)

    def _save(self) -> None:
        self.store.set_meta(STATE_KEY, json.dumps(self.state, ensure_ascii=False,
                                                  sort_keys=True, separators=(",", ":")))

    def _finish(self) -> HarvestReport:
        state = self.state
        stats = self.wiki.session.stats
        with self.store.transaction():
            if state["mode"] == "full":
                seen = set(state["seen"])
                self._delete(sorted(set(self.store.revision_ids()) - seen))
            new, changed, unchanged = state["counts"]
            report = HarvestReport(
                source=self.source, mode=state["mode"], pages_fetched=state["fetched"],
                pages_new=new, pages_changed=changed, pages_unchanged=unchanged,
                pages_deleted=len(state["deleted"]),
                deleted_titles=tuple(sorted(state["deleted"])),
                moved=tuple((old, new_) for old, new_ in state["moved"]),
                requests=stats.requests, notes=tuple(state["notes"]),
                retries=stats.retries, checkpoint=state["checkpoint"],
            )
            self.store.finish_harvest(
                state["harvest_id"], finished=now_utc(), checkpoint=state["checkpoint"],
                stats={**report.stats(), "selection": self.selection},
            )
            self.store.set_meta(STATE_KEY, None)
        return report
