"""data.gouv.fr's own harvester on a release: udata's DCAT backend, served over HTTP on loopback.

udata lives in its own virtual environment (``.venv-udata``, made by
``scripts/install-test-servers.sh``; ``$UDATA_PYTHON`` names another interpreter). The
harvest runs in a subprocess (``tests/udata_harvest.py``) on mongomock; this test builds the
sample with a publication URL on a free port of 127.0.0.1, serves the release with the media
types and charset of the README's nginx block, and checks what udata saved.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from tierslieux.cli import cli

ROOT = Path(__file__).resolve().parent.parent
HARVEST = Path(__file__).parent / "udata_harvest.py"
README = ROOT / "README.md"


def udata_python() -> str:
    python = os.environ.get("UDATA_PYTHON") or str(ROOT / ".venv-udata" / "bin" / "python")
    found = Path(python).is_file() and subprocess.run(
        [python, "-c", "import udata, mongomock"], capture_output=True).returncode == 0
    if not found:
        message = (f"udata is not installed in {python}: run scripts/install-test-servers.sh "
                   "(it makes .venv-udata)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return python


def nginx_types() -> tuple[dict[str, str], str, set[str]]:
    """(extension -> type, default type, types served with charset=utf-8), from the README."""
    block = re.search(r"```nginx\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    types = re.search(r"types \{(.*?)\}", block, re.S).group(1)
    by_extension = {ext: line.split()[0] for line in types.strip().splitlines()
                    for ext in line.rstrip(";").split()[1:]}
    default = re.search(r"default_type (\S+);", block).group(1)
    assert re.search(r"charset utf-8;", block)
    charset = set(re.search(r"charset_types ([^;]+);", block).group(1).split())
    return by_extension, default, charset


class NginxLikeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the README's types; quiet."""

    types: dict[str, str] = {}
    default_type = "application/octet-stream"
    charset_types: set[str] = set()

    def guess_type(self, path):  # noqa: ANN001 (http.server's signature)
        name = os.path.basename(str(path))
        extension = name.rsplit(".", 1)[-1] if "." in name else ""
        media = self.types.get(extension, self.default_type)
        return f"{media}; charset=utf-8" if media in self.charset_types else media

    def log_message(self, *args) -> None:
        pass


class Served:
    """A release built for http://127.0.0.1:PORT/ and served there."""

    def __init__(self, sample_run: Path, folder: Path, settings: str, *options: str) -> None:
        by_extension, default, charset = nginx_types()
        handler = type("Handler", (NginxLikeHandler,), {
            "types": by_extension, "default_type": default, "charset_types": charset})
        self.out = folder / "exports"
        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(self.out)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        config = folder / "tierslieux.toml"
        config.write_text(settings, encoding="utf-8")
        result = CliRunner().invoke(cli, [
            "--quiet", "--config", str(config), "build", "--store",
            str(sample_run / "store.sqlite"), "--out", str(self.out),
            "--publication-url", self.url, *options])
        assert result.exit_code == 0, (result.output, result.exception)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def harvest(self) -> dict:
        python = udata_python()
        done = subprocess.run([python, str(HARVEST), self.url + "catalog.ttl"],
                              capture_output=True, text=True, timeout=600, cwd=HARVEST.parent)
        assert done.returncode == 0, done.stderr[-4000:]
        return json.loads(done.stdout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def served(sample_run: Path, tmp_path_factory):
    """The sample with a contact point and a weekly frequency, built and served."""
    release = Served(sample_run, tmp_path_factory.mktemp("udata"),
                     'contact-point = "open-data@example.org"\n'
                     'accrual-periodicity = "WEEKLY"\n')
    try:
        yield release
    finally:
        release.close()


@pytest.fixture(scope="module")
def harvest(served: Served) -> dict:
    return served.harvest()


def distributions(out: Path) -> dict[str, tuple[int, str]]:
    """The files catalog.ttl describes: name -> (size, sha256), read with rdflib."""
    import rdflib

    graph = rdflib.Graph().parse(out / "catalog.ttl", format="turtle")
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    names = {str(url).rsplit("/", 1)[-1] for url in graph.objects(None, dcat.downloadURL)}
    return {name: ((out / name).stat().st_size,
                   hashlib.sha256((out / name).read_bytes()).hexdigest()) for name in names}


def test_the_server_serves_as_the_readme_says(served) -> None:
    import urllib.request

    url = served.url
    with urllib.request.urlopen(url + "catalog.ttl") as response:
        assert response.headers["Content-Type"] == "text/turtle; charset=utf-8"
    with urllib.request.urlopen(url + "tierslieux.nt.gz") as response:
        assert response.headers["Content-Type"] == "application/gzip"


def test_udata_saves_the_dataset_without_error(harvest) -> None:
    job = harvest["job"]
    assert job["status"] == "done", job
    assert job["errors"] == []
    assert [(item["status"], item["errors"]) for item in job["items"]] == [("done", [])]
    assert job["items"][0]["remote_id"] == "https://w3id.org/tierslieux/movilab/dataset"
    assert len(harvest["datasets"]) == 1


def test_udata_reads_the_french_metadata(harvest) -> None:
    dataset = harvest["datasets"][0]
    assert dataset["title"] == "Tiers-lieux et collectivités : les données ouvertes de Movilab"
    assert dataset["description"].startswith("Les pages du wiki Movilab (tiers-lieux, "
                                              "collectivités, réseaux")
    assert dataset["license"] == "cc-by-sa"
    assert dataset["frequency"] == "weekly"
    assert {"name": "Movilab", "email": "open-data@example.org", "role": "contact"} \
        in dataset["contact_points"]
    start, end = dataset["temporal"]
    assert start < end and end.startswith("2026-02-16")  # the latest edit of the sample
    assert "tiers-lieux" in dataset["tags"]


def test_one_resource_per_distribution_with_url_type_size_and_checksum(harvest, served) -> None:
    out, url = served.out, served.url
    files = distributions(out)
    resources = {r["url"]: r for r in harvest["datasets"][0]["resources"]}
    assert len(files) == 17  # organisations.csv among them
    assert sorted(resources) == sorted(url + name for name in files)
    expected = {".csv": ("csv", "text/csv"), ".ttl": ("rdf_turtle", "text/turtle"),
                ".jsonld": ("json_ld", "application/ld+json"),
                ".json": ("json", "application/json"),
                ".gz": ("rdf_n_triples", "application/n-triples"),
                "csv-metadata.json": ("json", "application/csvm+json")}
    for name, (size, digest) in files.items():
        resource = resources[url + name]
        kind = ("csv-metadata.json" if name == "csv-metadata.json"
                else "." + name.rsplit(".", 1)[1])
        assert (resource["format"], resource["mime"]) == expected[kind], name
        assert resource["filesize"] == size, name
        assert resource["checksum"] == {"type": "sha256", "value": digest}, name
        assert resource["title"].startswith(name + " : "), resource["title"]


def test_udata_keeps_the_release_index_as_the_landing_page(harvest, served) -> None:
    """The dataset's page at its source (udata's remote_url) is the release's index.html, the
    Linked Data site's entry; it is no resource (not a file the catalogue describes)."""
    dataset = harvest["datasets"][0]
    assert (served.out / "index.html").is_file()
    assert dataset["remote_url"] == served.url + "index.html"
    assert all(not r["url"].endswith(".html") for r in dataset["resources"])


def test_without_the_site_the_landing_page_is_the_wiki(sample_run, tmp_path) -> None:
    udata_python()
    release = Served(sample_run, tmp_path, "", "--no-site")
    try:
        found = release.harvest()
    finally:
        release.close()
    assert not (release.out / "index.html").exists()
    assert [item["status"] for item in found["job"]["items"]] == ["done"]
    assert found["datasets"][0]["remote_url"] == "https://movilab.org/wiki/"
    assert len(found["datasets"][0]["resources"]) == 17


@pytest.mark.parametrize("licence,name,expected", [
    ("https://www.etalab.gouv.fr/licence-ouverte-open-licence/", "Licence Ouverte 2.0", "lov2"),
    ("https://opendatacommons.org/licenses/odbl/1-0/", "ODbL 1.0", "odc-odbl"),
])
def test_udata_recognises_the_other_known_licences(sample_run, tmp_path, licence: str,
                                                   name: str, expected: str) -> None:
    udata_python()
    release = Served(sample_run, tmp_path, f'licence = "{licence}"\nlicence-name = "{name}"\n')
    try:
        found = release.harvest()
    finally:
        release.close()
    assert [item["status"] for item in found["job"]["items"]] == ["done"]
    assert found["datasets"][0]["license"] == expected


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
