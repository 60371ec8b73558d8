"""tierslieux.toml: discovery, precedence, every error message, relative paths, secret masking."""

from __future__ import annotations

import os
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from tierslieux.config import (
    CONFIG_NAME,
    DEFAULT_BASE_IRI,
    Config,
    _FIELDS,
    load_config,
)
from tierslieux.errors import ConfigError
from tierslieux.runner.build import BuildOptions

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tierslieux.example.toml"


def write(folder: Path, text: str, name: str = CONFIG_NAME) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TIERSLIEUX_CONFIG", "TIERSLIEUX_WIKI_PASSWORD", "TIERSLIEUX_SPARQL_PASSWORD"):
        monkeypatch.delenv(var, raising=False)


# ------------------------------------------------------------------------ discovery and values


def test_no_file_gives_the_defaults(tmp_path: Path) -> None:
    config = load_config(cwd=tmp_path)
    assert config == Config()
    assert config.config_path is None
    assert config.store == Path("tierslieux.sqlite") and config.out == Path("exports")
    assert config.log_format == "text" and config.wiki is None


def test_defaults_agree_with_the_build() -> None:
    """Config is the one source of defaults: a build and a release default to its values."""
    from tierslieux.exports.release import ReleaseMeta
    from tierslieux.runner.job import build_options

    assert build_options(Config()) == BuildOptions()
    config, meta = Config(), ReleaseMeta()
    assert (meta.base_iri, meta.licence_iri, meta.licence_name, meta.attribution,
            meta.diff_threshold) == (config.base_iri, config.licence, config.licence_name,
                                     config.attribution, config.diff_threshold)
    assert config.base_iri == DEFAULT_BASE_IRI


def test_every_field_has_a_checker() -> None:
    assert set(_FIELDS) == {f.name for f in fields(Config)} - {"config_path", "origins"}


def test_file_in_working_folder_is_read(tmp_path: Path) -> None:
    write(tmp_path, """
wiki = "https://movilab.org/wiki/Accueil"
namespaces = [14, 0, 0]
categories = ["Tiers-lieux", "Collectivités"]
contact = "ops@example.org"
delay = 2
base-iri = "https://data.example.org/tl/"
publication-url = "https://data.example.org/files/"
licence = "https://creativecommons.org/licenses/by-sa/3.0/"
licence-name = "CC BY-SA 3.0"
attribution = "Contributeurs de Movilab"
diff-threshold = 0.25
workers = 3
site = false
log-format = "json"
""")
    config = load_config(cwd=tmp_path)
    assert config.config_path == tmp_path / CONFIG_NAME
    assert config.wiki == "https://movilab.org/wiki/Accueil"
    assert config.namespaces == (0, 14)
    assert config.categories == ("Tiers-lieux", "Collectivités")
    assert config.contact == "ops@example.org"
    assert config.delay == 2.0 and isinstance(config.delay, float)
    assert config.base_iri == "https://data.example.org/tl/"
    assert config.publication_url == "https://data.example.org/files/"
    assert (config.licence, config.licence_name) == (
        "https://creativecommons.org/licenses/by-sa/3.0/", "CC BY-SA 3.0")
    assert config.attribution == "Contributeurs de Movilab"
    assert config.diff_threshold == 0.25
    assert config.workers == 3
    assert config.site is False and Config().site is True
    assert config.log_format == "json"
    assert config.origin("delay") == str(tmp_path / CONFIG_NAME)
    assert config.origin("store") == "default"


@pytest.mark.parametrize(("text", "expected"), [
    ("namespace = [14, 0]\n", (0, 14)),
    ("namespace = 14\n", (14,)),
    ("namespaces = [1]\n", (1,)),
])
def test_namespace_is_an_alias_of_namespaces(tmp_path: Path, text: str,
                                             expected: tuple[int, ...]) -> None:
    """The option is ``--namespace`` (repeatable), the key ``namespaces``: both are read."""
    write(tmp_path, text)
    config = load_config(cwd=tmp_path)
    assert config.namespaces == expected
    assert config.origin("namespaces") == str(tmp_path / CONFIG_NAME)
    assert "namespaces = [" in config.to_display()


def test_explicit_path_and_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, 'delay = 3\n')                                # in the working folder
    env_file = write(tmp_path / "etc", 'delay = 4\n', "env.toml")
    explicit = write(tmp_path / "etc", 'delay = 5\n', "explicit.toml")
    assert load_config(cwd=tmp_path).delay == 3
    monkeypatch.setenv("TIERSLIEUX_CONFIG", str(env_file))
    assert load_config(cwd=tmp_path).delay == 4                   # env beats the working folder
    assert load_config(explicit, cwd=tmp_path).delay == 5          # explicit beats env
    assert load_config(Path("etc/explicit.toml"), cwd=tmp_path).delay == 5   # relative to cwd


def test_paths_are_relative_to_the_file_folder(tmp_path: Path) -> None:
    config_file = write(tmp_path / "srv" / "tl", """
store = "data/movilab.sqlite"
out = "../www/exports"
mapping = "mapping.yaml"
dump = "/var/dumps/movilab.xml.gz"
""")
    elsewhere = tmp_path / "cron-cwd"
    elsewhere.mkdir()
    config = load_config(config_file, cwd=elsewhere)
    folder = tmp_path / "srv" / "tl"
    assert config.store == folder / "data" / "movilab.sqlite"
    assert config.out == folder / ".." / "www" / "exports"
    assert config.mapping == folder / "mapping.yaml"
    assert config.dump == Path("/var/dumps/movilab.xml.gz")


def test_example_file_is_valid_and_documents_every_key(tmp_path: Path) -> None:
    config = load_config(EXAMPLE, cwd=tmp_path)
    assert config.wiki == "https://movilab.org/wiki/Accueil"
    assert config.store == ROOT / "tierslieux.sqlite"
    text = EXAMPLE.read_text(encoding="utf-8")
    for name in _FIELDS:
        assert f"{name.replace('_', '-')} = " in text, name


# ------------------------------------------------------------------------ precedence


def test_precedence_defaults_then_file_then_command_line(tmp_path: Path) -> None:
    write(tmp_path, 'delay = 2.5\nout = "public"\nlog-format = "json"\n')
    config = load_config(cwd=tmp_path).merged(
        delay=0.5, store=Path("cli.sqlite"), out=None, log_format=None, categories=())
    assert config.delay == 0.5                          # command line beats the file
    assert config.store == Path("cli.sqlite")           # command line beats the default
    assert config.out == tmp_path / "public"            # file beats the default; None = not given
    assert config.log_format == "json"
    assert config.categories == ()                      # () = option not given
    assert config.base_iri == DEFAULT_BASE_IRI          # default
    assert config.origin("delay") == "command line"
    assert config.origin("out") == str(tmp_path / CONFIG_NAME)
    assert config.origin("base_iri") == "default"


def test_command_line_source_replaces_the_file_source(tmp_path: Path) -> None:
    write(tmp_path, 'wiki = "https://movilab.org/wiki/Accueil"\n')
    config = load_config(cwd=tmp_path).merged(dump=Path("x.xml"))
    assert (config.wiki, config.dump) == (None, Path("x.xml"))
    with pytest.raises(ConfigError, match="either --wiki or --dump"):
        config.merged(wiki="https://a.example/", dump=Path("y.xml"))


def test_command_line_values_are_checked() -> None:
    with pytest.raises(ConfigError) as err:
        Config().merged(diff_threshold=1.5)
    assert str(err.value) == "command line: --diff-threshold must be a number from 0 to 1, got 1.5"
    with pytest.raises(TypeError, match="no_such_option"):
        Config().merged(no_such_option=1)


# ------------------------------------------------------------------------ errors


@pytest.mark.parametrize(("text", "message"), [
    ('dealy = 1\n',
     "tierslieux.toml: unknown key 'dealy' (did you mean 'delay'?)"),
    ('base_iri = "https://x.example/"\n',
     "tierslieux.toml: unknown key 'base_iri' (did you mean 'base-iri'?)"),
    ('license = "https://x.example/"\n',
     "tierslieux.toml: unknown key 'license' (did you mean 'licence'?)"),
    ('delay = "fast"\n',
     "tierslieux.toml: 'delay' must be a number, got \"fast\""),
    ('delay = -1\n',
     "tierslieux.toml: 'delay' must be a number >= 0, got -1"),
    ('delay = true\n',
     "tierslieux.toml: 'delay' must be a number, got true"),
    ('namespaces = [0, "14"]\n',
     "tierslieux.toml: 'namespaces' must be a list of namespace numbers (integers >= 0), "
     "got [0, \"14\"]"),
    ('categories = "Tiers-lieux"\n',
     "tierslieux.toml: 'categories' must be a list of strings, got \"Tiers-lieux\""),
    ('wiki = "movilab.org"\n',
     "tierslieux.toml: 'wiki' must be an http(s) address, got \"movilab.org\""),
    ('base-iri = "https://x.example/data"\n',
     "tierslieux.toml: 'base-iri' must be an http(s) IRI ending with / or #, "
     "got \"https://x.example/data\""),
    ('diff-threshold = 10\n',
     "tierslieux.toml: 'diff-threshold' must be a number from 0 to 1, got 10"),
    ('workers = -1\n',
     "tierslieux.toml: 'workers' must be a whole number >= 0, got -1"),
    ('workers = 1.5\n',
     "tierslieux.toml: 'workers' must be a whole number >= 0, got 1.5"),
    ('site = "no"\n',
     "tierslieux.toml: 'site' must be true or false, got \"no\""),
    ('log-format = "xml"\n',
     "tierslieux.toml: 'log-format' must be \"text\" or \"json\", got \"xml\""),
    ('[wiki]\nurl = "https://movilab.org/"\n',
     "tierslieux.toml: 'wiki' must be an http(s) address, got a table"),
    ('wiki = "https://a.example/"\ndump = "a.xml"\n',
     "tierslieux.toml: set either 'wiki' or 'dump', not both"),
    ('licence = "https://x.example/ma licence"\n',
     "tierslieux.toml: 'licence' must be an http(s) address that is an IRI (no spaces: %20), "
     "got \"https://x.example/ma licence\""),
    ('namespace = [0]\nnamespaces = [14]\n',
     "tierslieux.toml: set either 'namespace' or 'namespaces', not both"),
    ('namespace = "14"\n',
     "tierslieux.toml: 'namespace' must be a list of namespace numbers (integers >= 0), "
     "got \"14\""),
    ('delay = 1\ndelay = 2\n',
     "tierslieux.toml: invalid TOML: Cannot overwrite a value (at line 2, column 10)"),
    ('# nightly harvest\ncontact = "ops@example.org"\ndelay 2\n',
     "tierslieux.toml: invalid TOML: Expected '=' after a key in a key/value pair "
     "(at line 3, column 7)"),
])
def test_error_messages_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(cwd=tmp_path)
    assert str(err.value) == message
    assert "\n" not in str(err.value)


def test_unknown_key_far_from_any_lists_the_known_keys(tmp_path: Path) -> None:
    write(tmp_path, 'zzz = 1\n')
    with pytest.raises(ConfigError, match=r"unknown key 'zzz' \(known keys: wiki, dump, "):
        load_config(cwd=tmp_path)


@pytest.mark.parametrize("text", [
    'password = "hunter2"\n',
    'wiki-password = "hunter2"\n',
    'api_token = "hunter2"\n',
    '[wiki]\npassword = "hunter2"\n',
])
def test_secrets_are_refused_without_echoing_them(tmp_path: Path, text: str) -> None:
    write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(cwd=tmp_path)
    message = str(err.value)
    assert "must not hold secrets" in message and "TIERSLIEUX_WIKI_PASSWORD" in message
    assert "hunter2" not in message


def test_missing_or_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"^configuration file nope\.toml not found$"):
        load_config(Path("nope.toml"), cwd=tmp_path)
    monkeypatch.setenv("TIERSLIEUX_CONFIG", "gone.toml")
    with pytest.raises(ConfigError, match=r"^\$TIERSLIEUX_CONFIG gone\.toml not found$"):
        load_config(cwd=tmp_path)
    monkeypatch.delenv("TIERSLIEUX_CONFIG")
    path = write(tmp_path, "delay = 1\n")
    if os.geteuid() != 0:  # root reads any file
        path.chmod(0)
        try:
            with pytest.raises(ConfigError, match=r"^tierslieux\.toml: cannot read: Permission denied$"):
                load_config(cwd=tmp_path)
        finally:
            path.chmod(0o644)
    path.write_bytes(b'contact = "\xff"\n')
    with pytest.raises(ConfigError, match=r"^tierslieux\.toml: cannot read: .*utf-8"):
        load_config(cwd=tmp_path)


# ------------------------------------------------------------------------ display


def test_display_masks_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERSLIEUX_WIKI_PASSWORD", "s3cr3t-wiki-pw")
    write(tmp_path, 'contact = "ops@example.org"\n')
    config = load_config(cwd=tmp_path)
    shown = config.to_display()
    assert "s3cr3t-wiki-pw" not in shown
    assert "s3cr3t-wiki-pw" not in repr(config)
    assert '# TIERSLIEUX_WIKI_PASSWORD = "***"' in shown
    assert "# TIERSLIEUX_SPARQL_PASSWORD = (not set)" in shown
    assert f"# configuration file: {tmp_path / CONFIG_NAME}\n" in shown
    assert 'contact = "ops@example.org"  # config file' in shown
    assert 'log-format = "text"  # default' in shown
    assert "# wiki = (not set)  # default" in shown


def test_display_is_a_config_file_giving_the_same_configuration(tmp_path: Path) -> None:
    write(tmp_path, """
wiki = "https://movilab.org/wiki/Accueil"
namespaces = [0]
categories = ["Tiers-lieux", "Ça \\"cite\\""]
store = "s.sqlite"
""")
    config = load_config(cwd=tmp_path).merged(delay=0.2, out=tmp_path / "o")
    shown = config.to_display()
    tomllib.loads(shown)  # valid TOML
    again = load_config(write(tmp_path / "again", shown), cwd=tmp_path)
    assert again == config
