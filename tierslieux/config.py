"""The configuration file ``tierslieux.toml`` and the effective configuration of a run.

Layout: one flat TOML table whose keys are the long names of the command-line options
(``wiki``, ``store``, ``out``, ``base-iri``, ...; lists are plural: ``namespaces``,
``categories``). ``namespace``, the command line's singular ``--namespace``, is accepted as an
alias of ``namespaces`` (:data:`ALIASES`). See ``tierslieux.example.toml`` at the repository
root.

Where values come from, strongest first: the command line (:meth:`Config.merged`), the
configuration file, the defaults below. Paths written in the file are relative to the file's
folder, so a cron job finds the same files whatever its working folder.

Secrets (the wiki password, the SPARQL endpoint password) never live in the file: they come from
the environment (:data:`SECRET_ENV`) and are shown as ``***`` by :meth:`Config.to_display`.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tierslieux.errors import ConfigError
from tierslieux.model.iri import is_iri
from tierslieux.model.rdf import DEFAULT_BASE_IRI
from tierslieux.ontology.catalog_terms import CHECKSUM_DATATYPES, FREQUENCIES, PUBLISHER_TYPES

#: name of the configuration file looked for in the working folder
CONFIG_NAME = "tierslieux.toml"
#: environment variable naming a configuration file (weaker than an explicit path)
CONFIG_ENV = "TIERSLIEUX_CONFIG"
#: secrets, read from the environment only: name -> environment variable
SECRET_ENV = {
    "wiki-password": "TIERSLIEUX_WIKI_PASSWORD",
    "sparql-password": "TIERSLIEUX_SPARQL_PASSWORD",
}
#: parts of a key that mark it as a secret, refused in a configuration file
SECRET_WORDS = ("password", "passwd", "secret", "token", "api-key", "apikey", "credential")

DEFAULT_STORE = Path("tierslieux.sqlite")
DEFAULT_OUT = Path("exports")
DEFAULT_LICENCE = "https://creativecommons.org/licenses/by-sa/4.0/"
DEFAULT_LICENCE_NAME = "CC BY-SA 4.0"
DEFAULT_ATTRIBUTION = "Movilab contributors, https://movilab.org/wiki/Accueil"
#: a nightly run republishes only when the wiki changed: irregular updates (EU code IRREG)
DEFAULT_ACCRUAL_PERIODICITY = "IRREG"
DEFAULT_PUBLISHER_TYPE = "NonProfitOrganisation"
#: udata (data.gouv.fr) stores a checksum only as text; see the README
DEFAULT_CHECKSUM_DATATYPE = "string"
LOG_FORMATS = ("text", "json")
DEFAULT_DIFF_THRESHOLD = 0.10
#: keys of the file accepted for another key: the option's own name (``--namespace`` is
#: repeatable, the key is plural); a single number is accepted for the singular key
ALIASES = {"namespace": "namespaces"}


#: where a value came from, as shown by ``tierslieux config``
DEFAULT, COMMAND_LINE = "default", "command line"


def secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A secret from the environment (``wiki-password``, ``sparql-password``), or None if unset."""
    value = (os.environ if environ is None else environ).get(SECRET_ENV[name])
    return value or None


@dataclass(frozen=True)
class Config:
    """The effective configuration of a run. Build it with :func:`load_config`."""

    #: MediaWiki address (the API is found from it); None with no dump = the bundled sample
    wiki: str | None = None
    #: a MediaWiki XML export instead of a live wiki
    dump: Path | None = None
    #: namespaces to harvest (0: the articles); a build publishes every namespace of the store
    namespaces: tuple[int, ...] = (0,)
    #: only pages of these categories; empty = every page
    categories: tuple[str, ...] = ()
    #: contact (email or URL) put in the User-Agent of live harvests
    contact: str = ""
    #: seconds between two API requests
    delay: float = 1.0
    #: retries of one failed request (429, 5xx, dropped connection, truncated answer…)
    retries: int = 8
    #: seconds before the 2nd retry, doubled at each further one (capped at 120 s)
    backoff: float = 1.0
    #: seconds to wait for a connection and for each answer
    timeout: float = 60.0
    #: seconds a whole harvest may take; 0 = no limit
    deadline: float = 0.0
    store: Path = DEFAULT_STORE
    out: Path = DEFAULT_OUT
    base_iri: str = DEFAULT_BASE_IRI
    #: address where the release is published (catalogue download URLs); empty = none
    publication_url: str = ""
    licence: str = DEFAULT_LICENCE
    licence_name: str = DEFAULT_LICENCE_NAME
    attribution: str = DEFAULT_ATTRIBUTION
    #: the catalogue's dcat:contactPoint: an email address or an http(s) URL; empty = none
    contact_point: str = ""
    #: the catalogue's dcterms:accrualPeriodicity, an EU frequency code (DAILY, WEEKLY, IRREG…)
    accrual_periodicity: str = DEFAULT_ACCRUAL_PERIODICITY
    #: the ADMS type of the publisher (NonProfitOrganisation, LocalAuthority…)
    publisher_type: str = DEFAULT_PUBLISHER_TYPE
    #: how catalog.ttl types checksums: "string" (udata) or "hexBinary" (strict DCAT-AP 3.0.1)
    checksum_datatype: str = DEFAULT_CHECKSUM_DATATYPE
    #: a mapping file replacing the bundled one
    mapping: Path | None = None
    #: largest share (0..1) of the previous release that a build may drop without --force
    diff_threshold: float = DEFAULT_DIFF_THRESHOLD
    #: processes that parse, map and write a build; 0 = one per core
    workers: int = 0
    #: write the Linked Data site (``site/`` and ``index.html``); false for big wikis that
    #: only need the dumps and the tables
    site: bool = True
    #: a Dask scheduler (tcp://host:8786) for the per-page work; empty = the local pool
    cluster: str = ""
    #: the index of a multistream dump (default: found beside it)
    dump_index: Path | None = None
    #: a folder for the state of a build straight from a multistream dump (``build --state``,
    #: no store: ``runner/partitions.py``); None = builds read the store
    state: Path | None = None
    log_format: str = "text"
    #: the file this configuration was read from, if any
    config_path: Path | None = field(default=None, compare=False)
    #: key -> where its value came from (the file, the command line); absent = default
    origins: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    def merged(self, **values: Any) -> Config:
        """This configuration with command-line values on top.

        Keyword names are field names (``base_iri=...``). None and empty tuples mean "not given"
        and are skipped, so a command can pass all its options. Giving ``wiki`` clears a ``dump``
        of the file, and the reverse: the command line chooses the source.
        """
        given = {k: v for k, v in values.items() if v is not None and v != ()}
        unknown = set(given) - set(_FIELDS)
        if unknown:
            raise TypeError(f"Config.merged() got unknown fields: {', '.join(sorted(unknown))}")
        if "wiki" in given and "dump" in given:
            raise ConfigError("give either --wiki or --dump, not both")
        changes = {
            name: _FIELDS[name].check(f"--{_key(name)}", value, COMMAND_LINE, None)
            for name, value in given.items()
        }
        if "wiki" in changes:
            changes.setdefault("dump", None)
        if "dump" in changes:
            changes.setdefault("wiki", None)
        origins = dict(self.origins)
        for name in changes:
            origins[name] = COMMAND_LINE
        return replace(self, **changes, origins=tuple(sorted(origins.items())))

    def origin(self, name: str) -> str:
        """Where the value of a field came from: the file's path, "command line" or "default"."""
        return dict(self.origins).get(name, DEFAULT)

    def to_display(self, environ: Mapping[str, str] | None = None) -> str:
        """The effective configuration as TOML text, secrets masked, each value's origin noted.

        The text is itself a valid configuration file (unset values are comments).
        """
        lines = [
            f"# configuration file: {self.config_path}" if self.config_path
            else "# configuration file: none (defaults and command line)",
        ]
        for name in _FIELDS:
            value = getattr(self, name)
            origin = self.origin(name)
            note = f"  # {'config file' if origin == str(self.config_path) else origin}"
            if value is None:
                lines.append(f"# {_key(name)} = (not set){note}")
            else:
                lines.append(f"{_key(name)} = {_toml_value(value)}{note}")
        lines.append(f"# engine: {engine_name(self.cluster, self.workers or os.cpu_count() or 1)}")
        lines.append("# build reads: " + (
            f"the partitions of {self.dump or '(no dump set)'}, state in {self.state}"
            if self.state else f"the store {self.store}"))
        lines.append("# secrets, from the environment only:")
        for name, var in SECRET_ENV.items():
            state = '"***"' if secret(name, environ) else "(not set)"
            lines.append(f"# {var} = {state}")
        return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------ loading


def find_config(path: Path | None = None, cwd: Path | None = None,
                environ: Mapping[str, str] | None = None) -> Path | None:
    """The configuration file to read: ``path``, else $TIERSLIEUX_CONFIG, else ./tierslieux.toml.

    An explicit path or the variable must name an existing file; the file in the working folder
    is optional (None when absent).
    """
    cwd = Path.cwd() if cwd is None else cwd
    env_path = (os.environ if environ is None else environ).get(CONFIG_ENV)
    for given, how in ((path, "configuration file"), (env_path, f"${CONFIG_ENV}")):
        if given:
            chosen = cwd / Path(given).expanduser()
            if not chosen.is_file():
                raise ConfigError(f"{how} {given} not found")
            return chosen
    local = cwd / CONFIG_NAME
    return local if local.is_file() else None


def load_config(path: Path | None = None, cwd: Path | None = None,
                environ: Mapping[str, str] | None = None) -> Config:
    """Read the configuration file (see :func:`find_config`) over the defaults.

    Raises ConfigError, naming the file and the key, for a file that cannot be read, invalid
    TOML, an unknown key, a value of the wrong type, or a secret written in the file.
    """
    cwd = Path.cwd() if cwd is None else cwd
    found = find_config(path, cwd, environ)
    if found is None:
        return Config()
    shown = _shown_path(found, cwd)
    try:
        text = found.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{shown}: cannot read: {reason}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: invalid TOML: {exc}") from None

    _refuse_secrets(data, shown)
    values = {}
    for key, value in data.items():
        name = ALIASES.get(key, key).replace("-", "_")
        if name not in _FIELDS or "_" in key:
            raise ConfigError(f"{shown}: unknown key {key!r}{_suggest(key)}")
        if key in ALIASES:
            if ALIASES[key] in data:
                raise ConfigError(f"{shown}: set either {key!r} or {ALIASES[key]!r}, not both")
            if isinstance(value, int) and not isinstance(value, bool):
                value = [value]
        values[name] = _FIELDS[name].check(repr(key), value, shown, found.parent)
    if values.get("wiki") is not None and values.get("dump") is not None:
        raise ConfigError(f"{shown}: set either 'wiki' or 'dump', not both")
    origins = tuple(sorted((name, str(found)) for name in values))
    return Config(**values, config_path=found, origins=origins)


def _shown_path(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def _refuse_secrets(data: Mapping[str, Any], shown: str, prefix: str = "") -> None:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        folded = key.lower().replace("_", "-")
        if any(word in folded for word in SECRET_WORDS):
            variables = " or ".join(SECRET_ENV.values())
            raise ConfigError(
                f"{shown}: {dotted!r} looks like a secret; configuration files must not hold "
                f"secrets: set {variables} in the environment instead"
            )
        if isinstance(value, dict):
            _refuse_secrets(value, shown, f"{dotted}.")


def _suggest(key: str) -> str:
    keys = [_key(name) for name in _FIELDS]
    folded = key.lower().replace("_", "-")
    if folded in keys:
        return f" (did you mean {folded!r}?)"
    close = difflib.get_close_matches(folded, keys, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(keys)})"


# ------------------------------------------------------------------------ values


def _key(name: str) -> str:
    return name.replace("_", "-")


def _show(value: Any) -> str:
    """A value as the user wrote it, for error messages."""
    if isinstance(value, dict):
        return "a table"
    try:
        return json.dumps(value, ensure_ascii=False)
    except TypeError:
        return str(value)


def _toml_value(value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)  # TOML basic strings accept JSON escapes


class _Field:
    """How one key is checked and converted. ``check`` returns the field's value."""

    def __init__(self, convert: Callable[[Any, str, Path | None], Any]) -> None:
        self.convert = convert

    def check(self, key: str, value: Any, where: str, base: Path | None) -> Any:
        try:
            return self.convert(value, key, base)
        except _Bad as bad:
            raise ConfigError(f"{where}: {key} must be {bad.expected}, got {_show(value)}") from None


class _Bad(Exception):
    def __init__(self, expected: str) -> None:
        self.expected = expected


def _string(value: Any, key: str, base: Path | None) -> str:
    if not isinstance(value, str):
        raise _Bad("a string")
    return value


def _http(value: Any, key: str, base: Path | None) -> str:
    # an address with a host: the catalogue needs absolute IRIs (https:///x is not one)
    if not isinstance(value, str) or not value.startswith(("http://", "https://")) \
            or not value.split("://", 1)[1].split("/", 1)[0]:
        raise _Bad("an http(s) address")
    return value


def _http_iri(value: Any, key: str, base: Path | None) -> str:
    # an address the catalogue publishes as an IRI: no space, no character an IRI refuses
    if not is_iri(_http(value, key, base)):
        raise _Bad("an http(s) address that is an IRI (no spaces: %20)")
    return value


def _optional_http(value: Any, key: str, base: Path | None) -> str:
    return "" if value == "" else _http_iri(value, key, base)


def _base_iri(value: Any, key: str, base: Path | None) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")) \
            or not value.endswith(("/", "#")) or any(c in value for c in ' <>"{}|\\^`'):
        raise _Bad("an http(s) IRI ending with / or #")
    return value


def _bool(value: Any, key: str, base: Path | None) -> bool:
    if not isinstance(value, bool):
        raise _Bad("true or false")
    return value


def _count(value: Any, key: str, base: Path | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Bad("a whole number >= 0")
    return value


def _number(low: float, high: float | None) -> Callable[[Any, str, Path | None], float]:
    expected = f"a number from {low} to {high}" if high is not None else f"a number >= {low}"

    def convert(value: Any, key: str, base: Path | None) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Bad("a number")
        if not math.isfinite(value) or value < low or (high is not None and value > high):
            raise _Bad(expected)
        return float(value)

    return convert


def _path(value: Any, key: str, base: Path | None) -> Path:
    if isinstance(value, Path):
        return value
    if not isinstance(value, str) or not value:
        raise _Bad("a path (a string)")
    path = Path(value).expanduser()
    return base / path if base is not None else path


def _namespaces(value: Any, key: str, base: Path | None) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not value or any(
            isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value):
        raise _Bad("a list of namespace numbers (integers >= 0)")
    return tuple(sorted(set(value)))


def _strings(value: Any, key: str, base: Path | None) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or any(not isinstance(v, str) or not v for v in value):
        raise _Bad("a list of strings")
    return tuple(value)


def _contact_point(value: Any, key: str, base: Path | None) -> str:
    if value == "":
        return ""
    if isinstance(value, str) and value.startswith(("http://", "https://")) \
            and not any(c in value for c in ' <>"{}|\\^`'):
        return value
    if isinstance(value, str) and value.count("@") == 1 and " " not in value \
            and all(value.split("@")) and "." in value.split("@")[1] \
            and not any(c in value for c in '<>"{}|\\^`:/'):
        return value
    raise _Bad("an email address or an http(s) URL")


def _one_of(choices: tuple[str, ...], what: str) -> Callable[[Any, str, Path | None], str]:
    def convert(value: Any, key: str, base: Path | None) -> str:
        if value not in choices:
            raise _Bad(f"{what} ({', '.join(choices)})")
        return value

    return convert


def engine_name(cluster: str, workers: int) -> str:
    """The engine a build uses (``runner/engine.py``), as ``tierslieux config`` shows it."""
    if cluster:
        return f"dask {cluster}"
    return f"local ({workers} worker{'s' if workers > 1 else ''})"


def _scheduler(value: Any, key: str, base: Path | None) -> str:
    # a Dask scheduler address: tcp:// or tls://, a host and a port
    if value == "":
        return ""
    if not isinstance(value, str) or not re.fullmatch(
            r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}", value):
        raise _Bad("a Dask scheduler address, tcp://HOST:PORT or tls://HOST:PORT")
    return value


def _log_format(value: Any, key: str, base: Path | None) -> str:
    if value not in LOG_FORMATS:
        raise _Bad(" or ".join(f'"{f}"' for f in LOG_FORMATS))
    return value


_FIELDS: dict[str, _Field] = {
    "wiki": _Field(_http),
    "dump": _Field(_path),
    "namespaces": _Field(_namespaces),
    "categories": _Field(_strings),
    "contact": _Field(_string),
    "delay": _Field(_number(0, None)),
    "retries": _Field(_count),
    "backoff": _Field(_number(0, None)),
    "timeout": _Field(_number(0.1, None)),
    "deadline": _Field(_number(0, None)),
    "store": _Field(_path),
    "out": _Field(_path),
    "base_iri": _Field(_base_iri),
    "publication_url": _Field(_optional_http),
    "licence": _Field(_http_iri),
    "licence_name": _Field(_string),
    "attribution": _Field(_string),
    "contact_point": _Field(_contact_point),
    "accrual_periodicity": _Field(_one_of(FREQUENCIES, "an EU frequency code")),
    "publisher_type": _Field(_one_of(PUBLISHER_TYPES, "an ADMS publisher type")),
    "checksum_datatype": _Field(_one_of(CHECKSUM_DATATYPES, "a checksum datatype")),
    "mapping": _Field(_path),
    "diff_threshold": _Field(_number(0, 1)),
    "workers": _Field(_count),
    "site": _Field(_bool),
    "cluster": _Field(_scheduler),
    "dump_index": _Field(_path),
    "state": _Field(_path),
    "log_format": _Field(_log_format),
}
