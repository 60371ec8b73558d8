"""Names as MediaWiki resolves them: page titles, template names, namespaces, magic words."""

from __future__ import annotations

import re

__all__ = ["normalise_title", "normalise_template_name", "template_name", "is_interwiki",
           "collapse", "CATEGORY_NS", "FILE_NS"]

CATEGORY_NS = frozenset({"catégorie", "category"})
FILE_NS = frozenset({"fichier", "file", "image", "média", "media"})
#: interwiki prefixes of the Wikimedia family (compared in lower case); language codes are
#: recognised by shape below
_INTERWIKI = frozenset({
    "w", "wikipedia", "wikt", "wiktionary", "commons", "c", "meta", "m", "mw", "mediawikiwiki",
    "s", "wikisource", "b", "wikibooks", "n", "wikinews", "q", "wikiquote", "v", "wikiversity",
    "voy", "wikivoyage", "species", "wikispecies", "d", "wikidata", "phab", "foundation", "wmf",
})
#: ``[[en:Germany]]``, ``[[zh-yue:...]]``: written in lower case in the source, unlike
#: namespaces and titles, which is what tells them apart from a title with a colon
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*\Z")

#: ``{{NAME}}`` variables (case-sensitive in MediaWiki), English and French spellings
_VARIABLES = frozenset("""
    ! = PAGENAME PAGENAMEE FULLPAGENAME FULLPAGENAMEE BASEPAGENAME ROOTPAGENAME SUBPAGENAME
    TALKPAGENAME NAMESPACE NAMESPACEE NAMESPACENUMBER TALKSPACE SUBJECTSPACE ARTICLESPACE
    SITENAME SERVER SERVERNAME SCRIPTPATH STYLEPATH CONTENTLANGUAGE CONTENTLANG DIRMARK
    CURRENTYEAR CURRENTMONTH CURRENTMONTH1 CURRENTMONTH2 CURRENTMONTHNAME CURRENTMONTHABBREV
    CURRENTDAY CURRENTDAY2 CURRENTDAYNAME CURRENTTIME CURRENTHOUR CURRENTWEEK CURRENTDOW
    CURRENTTIMESTAMP LOCALYEAR LOCALMONTH LOCALMONTHNAME LOCALDAY LOCALDAY2 LOCALDAYNAME
    LOCALTIME LOCALHOUR LOCALWEEK LOCALTIMESTAMP REVISIONID REVISIONDAY REVISIONDAY2
    REVISIONMONTH REVISIONYEAR REVISIONTIMESTAMP REVISIONUSER PAGEID NUMBEROFPAGES
    NUMBEROFARTICLES NUMBEROFFILES NUMBEROFEDITS NUMBEROFUSERS NUMBEROFADMINS
    NUMBEROFACTIVEUSERS NOTOC FORCETOC TOC NOEDITSECTION NEWSECTIONLINK NOGALLERY
    NOMPAGE NOMPAGECOMPLET NOMBASEDEPAGE NOMSOUSPAGE ESPACENOMMAGE NOMSITE
    ANNEEACTUELLE ANNÉEACTUELLE MOISACTUEL JOURACTUEL
""".split())
#: ``{{NAME:...}}`` magic words and parser functions without ``#`` (compared in upper case)
_FUNCTIONS = frozenset("""
    DEFAULTSORT DEFAULTSORTKEY DEFAULTCATEGORYSORT DISPLAYTITLE CLEFDETRI CLÉDETRI TRIDÉFAUT
    AFFICHERTITRE TITREAFFICHÉ LC UC LCFIRST UCFIRST URLENCODE ANCHORENCODE FULLURL FULLURLE
    LOCALURL LOCALURLE CANONICALURL CANONICALURLE FILEPATH NS NSE INT FORMATNUM PADLEFT
    PADRIGHT PLURAL GRAMMAR GENDER BIDI TAG LANGUAGE SPECIAL SPECIALE PAGESINCATEGORY
    PAGESINCAT PAGESIZE PROTECTIONLEVEL NUMBERINGROUP FORMATDATE DATEFORMAT
    PAGENAME PAGENAMEE FULLPAGENAME FULLPAGENAMEE BASEPAGENAME ROOTPAGENAME SUBPAGENAME
    TALKPAGENAME NAMESPACE NAMESPACEE NAMESPACENUMBER TALKSPACE SUBJECTSPACE NOMPAGE
""".split())
#: transclusion modifiers: ``{{subst:X}}`` still names the template X
_MODIFIERS = frozenset({"SUBST", "SAFESUBST", "MSG", "MSGNW", "RAW"})
_TEMPLATE_NS = frozenset({"modèle", "template"})


def collapse(text: str) -> str:
    return " ".join(text.split())


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def normalise_title(raw: str) -> tuple[str, str]:
    """``(title, fragment)`` of a link target the way MediaWiki resolves it.

    ``_`` becomes a space, whitespace is collapsed, a leading ``:`` is dropped, the
    fragment after ``#`` is split off and the first letter is upper-cased.
    """
    text = collapse(raw.replace("_", " "))
    if text.startswith(":"):
        text = text[1:].lstrip()
    title, _, fragment = text.partition("#")
    return _upper_first(title.rstrip()), fragment.strip()


def normalise_template_name(raw: str) -> str:
    """Template name as MediaWiki resolves it: no ``Modèle:``/``Template:`` prefix,
    ``_`` as space, whitespace collapsed, first letter upper-case."""
    name = collapse(raw.replace("_", " "))
    prefix, colon, rest = name.partition(":")
    if colon and prefix.strip().lower() in _TEMPLATE_NS:
        name = rest.strip()
    return _upper_first(name)


def template_name(raw: str) -> str | None:
    """The normalised template name of a ``{{...}}`` call, or None for a parser function
    or a magic word."""
    name = raw.strip()
    while True:
        if not name or name.startswith("#"):
            return None
        prefix, colon, rest = name.partition(":")
        if not colon:
            return None if name in _VARIABLES else normalise_template_name(name)
        word = prefix.strip().upper()
        if word in _MODIFIERS:
            name = rest.strip()
            continue
        if word in _FUNCTIONS:
            return None
        return normalise_template_name(name)


def is_interwiki(prefix: str) -> bool:
    prefix = prefix.strip()
    return bool(_LANGUAGE.match(prefix)) or prefix.lower() in _INTERWIKI


