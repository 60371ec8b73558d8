"""The parse stage: one stored page revision -> its sections, lists, templates and links.

The parse stage: one stored page revision -> its sections, lists, templates, links and
Semantic MediaWiki markup.

``parse_page`` parses the wikitext once with mwparserfromhell and walks the node tree once
(``walker.py``). What the page shows on its own is what counts: ``<includeonly>`` content is
skipped (it only exists when the page is transcluded), ``<noinclude>``/``<onlyinclude>`` are
transparent, footnotes (``<ref>``) and other invisible extension tags give no prose. A
template shows the text the mapping's ``inline_templates`` rules give it (``shown.py`` of the
ontology; the bundled French/English set by default), otherwise nothing; its calls are in
``ParsedPage.templates`` either way. Headings and lists inside template parameters or inside
footnotes are not sections or list items of the page. Same-page anchors (``[[#Section]]``)
are not links. SMW annotations, subobjects and queries are read by ``smw.py``.

The package: ``names`` (titles, template names, magic words), ``text`` (plain text, prose,
no markup debris), ``walker`` (the walk), ``smw`` (Semantic MediaWiki markup).
"""

from __future__ import annotations

import re
from dataclasses import replace

from tierslieux.errors import ParseError
from tierslieux.model.iri import clean_text
from tierslieux.model.records import Issue, ParsedPage, StoredPage
from tierslieux.model.wikitree import parse_tree
from tierslieux.ontology.shown import ShownTemplates, bundled_shown
from tierslieux.pipeline.parse.names import collapse, normalise_template_name, normalise_title
from tierslieux.pipeline.parse.smw import protect, restore_text
from tierslieux.pipeline.parse.walker import Walker

__all__ = ["parse_page", "normalise_title", "normalise_template_name"]

_REDIRECT = re.compile(r"\A\s*#\s*REDIRECT(?:ION)?\s*:?\s*\[\[([^\[\]|\n]*)", re.IGNORECASE)
_NON_WIKITEXT = frozenset({"css", "sanitized-css", "javascript", "json", "Scribunto", "text"})


def _clean_page(page: StoredPage) -> tuple[StoredPage, list[Issue]]:
    """The page with lone surrogates (which no output can hold) replaced by U+FFFD, in its
    text and its names; one warning per field that held some."""
    revision = page.revision
    issues = []
    changes = {}
    for name in ("title", "text", "redirect", "contributor"):
        value = getattr(revision, name)
        if value is None:
            continue
        cleaned, count = clean_text(value)
        if count:
            changes[name] = cleaned
            issues.append(Issue(clean_text(revision.title)[0], "warning", "page",
                                cleaned[:200], "",
                                f"{count} lone surrogate(s) in the page's {name} "
                                "replaced by U+FFFD"))
    names = {"contributors": revision.contributors, "alt_titles": page.alt_titles}
    cleaned_names = {name: tuple(clean_text(v)[0] for v in values)
                     for name, values in names.items()}
    if not changes and cleaned_names == names and clean_text(page.key)[1] == 0:
        return page, issues
    if cleaned_names != names:
        issues.append(Issue(clean_text(revision.title)[0], "warning", "page", "", "",
                            "lone surrogate(s) in the page's contributors or former titles "
                            "replaced by U+FFFD"))
    changes["contributors"] = cleaned_names["contributors"]
    return replace(page, revision=replace(revision, **changes), key=clean_text(page.key)[0],
                   alt_titles=cleaned_names["alt_titles"]), issues


def _redirect_target(raw: str | None) -> str | None:
    if not raw:
        return None
    target, _ = normalise_title(raw)
    return target or None


def parse_page(page: StoredPage, *, style_tags: bool = False,
               shown: ShownTemplates | None = None) -> ParsedPage:
    """Sections, list items, templates, links and categories of one stored page.

    Bold and italic markup is left as text (mwparserfromhell's ``skip_style_tags``, about 2.7
    times faster) and removed from the texts, the tree built by ``model/wikitree.py``;
    ``style_tags=True`` parses it as tags with the library's own builder (the parser's
    default, used by the benchmark's naive reference). ``shown``: what inline
    templates show (the mapping's ``inline_templates``; None: the bundled set).

    Raises ParseError (with the page title and the reason) if the wikitext cannot be
    parsed; the caller reports the page and goes on with the others.
    """
    page, issues = _clean_page(page)
    revision = page.revision
    try:
        text = revision.text
        match = _REDIRECT.match(text)
        redirect = _redirect_target(match.group(1) if match else revision.redirect)
        walker = Walker(revision.title, match is not None,
                        shown if shown is not None else bundled_shown())
        if revision.model not in _NON_WIKITEXT:
            protected = protect(text)
            # style_tags: the naive reference's parse, the library's own builder too
            code = parse_tree(protected, skip_style_tags=not style_tags, fast=not style_tags)
            if protected is not text:
                restore_text(code)
            walker.block(code.nodes, None)
            if walker.smw.may_be_unclosed(text):
                walker.smw.unclosed(code)
        smw = walker.smw
        return ParsedPage(
            page=page,
            sections=tuple(section.build() for section in walker.sections),
            templates=tuple(walker.templates),
            links=tuple(walker.links),
            categories=tuple(walker.categories),
            external_links=tuple(walker.external_links),
            redirect=redirect,
            issues=tuple(issues) + tuple(
                Issue(revision.title, "warning", "page", entity, entity,
                      "character reference of no valid character: kept as written, "
                      "as the wiki shows it")
                for entity in walker.bad_entities) + tuple(smw.issues),
            annotations=tuple(smw.annotations),
            subobjects=tuple(smw.subobjects),
            queries=tuple(smw.queries),
            silent_templates=tuple(walker.silent),
        )
    except Exception as exc:  # mwparserfromhell or odd input must not stop a whole run
        reason = collapse(f"{type(exc).__name__}: {exc}")
        raise ParseError(revision.title, reason) from exc
