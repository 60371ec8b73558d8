"""What inline templates show: the ``inline_templates`` section of ``mapping.yaml``.

A template such as ``{{unité|25000 km}}`` or ``{{langue|de|texte=Landesstraßen}}`` renders
text in the middle of a sentence; the parser has no template expansion, so the mapping says,
as data, which parameters give the text a reader sees. Each entry is::

    Langue:
      aliases: [Lang]
      show: ["{texte}", "{2}"]     # alternatives: the first whose parameters are all given

A pattern is literal text with placeholders: ``{2}`` (a positional parameter), ``{texte}``
(a named one), ``{*}`` (every positional parameter, joined by spaces), ``{0}`` (the name as
written, for ``{{de}}`` -> "(de)"); ``{3|sup}`` writes the value in superscript digits
(``km{3|sup}`` -> "km²"). A part in ``[...]`` is dropped when one of its placeholders is
empty (``{1}[ ({2})]``). ``show: ""`` declares a template that shows nothing in running text
(a footnote call, a navigation box): it is then not reported as a dropped inline template.
A name ending in ``*`` matches every template whose name starts with the rest
(``Lang-*`` for ``{{lang-de|…}}``). ``content: 1`` names the parameter of a layout template
(``{{colonnes|…}}``) that holds page content: it is read as the page's own text, its lists
are list items of the page.

The bundled French/English set (``inline_templates.yaml`` beside this module) applies to every
mapping; the section of a mapping file adds entries or replaces bundled ones of the same name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from tierslieux.errors import MappingError
from tierslieux.model import yamltext
from tierslieux.model.clean import fold
from tierslieux.ontology import read_text

__all__ = ["ShownRule", "ShownTemplates", "bundled_shown", "read_shown", "BUNDLED_FILE"]

BUNDLED_FILE = "inline_templates.yaml"

_PLACEHOLDER = re.compile(r"\{([^{}|]*)(?:\|([a-z]+))?\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_FILTERS = {"sup": str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")}


@dataclass(frozen=True)
class ShownRule:
    """What one inline template shows."""

    name: str
    aliases: tuple[str, ...]
    #: alternatives, in order; () when the template shows nothing in running text
    patterns: tuple[str, ...]
    #: the parameter that holds page content (a layout template), "" for none
    content: str = ""

    def show(self, written: str, named: dict[str, str], positional: list[str]) -> str:
        """The text the call shows, from its parameters' texts (already plain)."""
        for pattern in self.patterns:
            text = _fill(pattern, written, named, positional)
            if text is not None:
                return text
        return ""


def _key(name: str) -> str:
    """The index key of a template name: folded, or as written when folding empties it
    (``{{'}}``, ``{{!}}``)."""
    return fold(name) or name.strip()


def _value(key: str, written: str, named: dict[str, str], positional: list[str]) -> str:
    if key == "*":
        return " ".join(v for v in positional if v)
    if key == "0":
        return written
    return named.get(key, "").strip()


def _fill(pattern: str, written: str, named: dict[str, str], positional: list[str]
          ) -> str | None:
    """The pattern filled, or None when one of its required placeholders is empty."""
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        value = _value(match.group(1).strip(), written, named, positional)
        if not value:
            missing = True
        table = _FILTERS.get(match.group(2) or "")
        return value.translate(table) if table else value

    def optional(match: re.Match[str]) -> str:
        nonlocal missing
        before = missing
        missing = False
        text = _PLACEHOLDER.sub(one, match.group(1))
        dropped = missing
        missing = before
        return "" if dropped else text

    text = _OPTIONAL.sub(optional, pattern)
    text = _PLACEHOLDER.sub(one, text)
    return None if missing else text


@dataclass(frozen=True)
class ShownTemplates:
    """Every rule, indexed by folded name; prefix rules apart."""

    rules: tuple[ShownRule, ...] = ()
    index: dict[str, ShownRule] = field(default_factory=dict, repr=False, compare=False)
    #: (lower-case prefix, rule), longest first
    prefixes: tuple[tuple[str, ShownRule], ...] = field(default=(), repr=False, compare=False)

    def rule(self, name: str) -> ShownRule | None:
        """The rule of a normalised template name, or None."""
        found = self.index.get(_key(name))
        if found is not None:
            return found
        lower = name.lower()
        for prefix, rule in self.prefixes:
            if lower.startswith(prefix):
                return rule
        return None

    def merged(self, other: ShownTemplates) -> ShownTemplates:
        """These rules with ``other``'s added, ``other`` winning on a shared name."""
        names = {_key(n) for rule in other.rules for n in (rule.name, *rule.aliases)}
        kept = [rule for rule in self.rules
                if not names & {_key(n) for n in (rule.name, *rule.aliases)}]
        return _indexed((*kept, *other.rules))


def _indexed(rules: tuple[ShownRule, ...]) -> ShownTemplates:
    index: dict[str, ShownRule] = {}
    prefixes: list[tuple[str, ShownRule]] = []
    for rule in rules:
        for name in (rule.name, *rule.aliases):
            if name.endswith("*"):
                prefixes.append((name[:-1].lower(), rule))
            else:
                index[_key(name)] = rule
    prefixes.sort(key=lambda pair: (-len(pair[0]), pair[0]))
    return ShownTemplates(rules=rules, index=index, prefixes=tuple(prefixes))


def read_shown(node: Any, source: str, where: str = "inline_templates") -> ShownTemplates:
    """The rules of one ``inline_templates`` section (a mapping of template name -> entry)."""
    def fail(at: str, message: str) -> MappingError:
        return MappingError(f"{source}: {at}: {message}")

    if node is None:
        return ShownTemplates()
    if not isinstance(node, dict):
        raise fail(where, f"expected a mapping of template names, got {type(node).__name__}")
    rules = []
    seen: dict[str, str] = {}
    for name, spec in node.items():
        at = f"{where}.{name}"
        name = str(name).strip()
        if isinstance(spec, (str, list)):
            spec = {"show": spec}
        if not isinstance(spec, dict):
            raise fail(at, "expected a pattern, a list of patterns or {aliases, show}")
        unknown = sorted(set(map(str, spec)) - {"aliases", "show", "content"})
        if unknown:
            raise fail(f"{at}.{unknown[0]}",
                       "unknown key (expected one of: aliases, content, show)")
        if "show" not in spec and "content" not in spec:
            raise fail(f"{at}.show", "missing")
        content = spec.get("content")
        if content is not None and (isinstance(content, bool) or
                                    not isinstance(content, (str, int))):
            raise fail(f"{at}.content", "expected a parameter name or number")
        aliases = spec.get("aliases") or []
        if isinstance(aliases, str):
            aliases = [aliases]
        show = spec.get("show", "")
        patterns = [show] if isinstance(show, str) else show
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise fail(f"{at}.show", "expected a text pattern or a list of them")
        for pattern in patterns:
            if pattern.count("[") != pattern.count("]") or \
                    pattern.count("{") != pattern.count("}"):
                raise fail(f"{at}.show", f"unbalanced brackets in {pattern!r}")
        names = (name, *(str(a).strip() for a in aliases))
        for one in names:
            key = _key(one.rstrip("*")) + ("*" if one.endswith("*") else "")
            if not key.strip("*"):
                raise fail(at, f"the name {one!r} is empty once folded")
            if key in seen and seen[key] != name:
                raise fail(at, f"{one!r} names both {seen[key]!r} and {name!r}")
            seen[key] = name
        rules.append(ShownRule(name=name, aliases=names[1:],
                               patterns=tuple(p for p in patterns if p),
                               content=str(content).strip() if content is not None else ""))
    return _indexed(tuple(rules))


@lru_cache(maxsize=1)
def bundled_shown() -> ShownTemplates:
    """The bundled French/English set."""
    return read_shown(yamltext.safe_load(read_text(BUNDLED_FILE)), BUNDLED_FILE)
