"""The template engine of the site: Jinja2, autoescaped, templates shipped in the package.

Every value of the wiki reaches a page through a template variable, and Jinja2 escapes it
(``<script>`` is shown as text, an attribute cannot be closed by a ``"``), or through the HTML
of a value or a property cell that pages.py makes once per IRI, escaped there with
``markupsafe.escape``, the function autoescaping calls. The one value put
in a page unescaped is the schema.org JSON-LD of the landing page, serialised here with every
``<``, ``>`` and ``&`` written as a JSON escape, so that no text of the wiki can end its
``<script>`` element.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup


#: the package and folder the templates are loaded from
TEMPLATES = ("tierslieux.site", "templates")


class Renderer:
    """The site's templates, loaded once."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader(*TEMPLATES),
            autoescape=select_autoescape(["html"], default=True),
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._cache: dict[str, Any] = {}

    def render(self, name: str, context: dict[str, Any]) -> str:
        template = self._cache.get(name)
        if template is None:
            template = self._cache[name] = self.env.get_template(name)
        return template.render(context)


def template_sources() -> list[tuple[str, bytes]]:
    """(name, bytes) of every file of the templates' folder, by name: what the pages are
    rendered with besides the code (a kept page is reused only with the same templates)."""
    folder = resources.files(TEMPLATES[0]).joinpath(TEMPLATES[1])
    return sorted((entry.name, entry.read_bytes()) for entry in folder.iterdir()
                  if entry.is_file())


def script_json(data: Any) -> Markup:
    """``data`` as JSON safe inside an HTML ``<script>`` element."""
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)
