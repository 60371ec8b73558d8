"""The release as a Linked Data site (issue 18), checked as a visitor would: a real Chromium
(tests/fixtures/browser.py) against ``tierslieux serve`` and against the static folder on a
plain HTTP server (``python -m http.server``), a crawl of every internal link, content
negotiation at the data IRIs, pyld on the schema.org JSON-LD, and the checksums.

The release is the bundled sample plus one hostile page, whose values hold markup.
Screenshots go to docs/screenshots/ with UPDATE_SCREENSHOTS=1 (else to a temporary folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.oxigraph import free_port, wait_http
from tierslieux.cli import cli
from tierslieux.runner.build import sample_dump

ROOT = Path(__file__).resolve().parent.parent
HOSTILE_NAME = '<script>alert("nom")</script>'
HOSTILE_TOWN = '"><img src=x onerror=alert(1)>'
#: the wikitext of the hostile page: markup kept as text by <nowiki> and by HTML entities, as
#: editors write it when they mean the characters (the parser strips real tags)
HOSTILE_TEXT = f"""{{{{Tiers-lieu
|nom court=<nowiki>{HOSTILE_NAME}</nowiki>
|ville=&quot;&gt;&lt;img src=x onerror=alert(1)&gt;
|description=Un lieu <nowiki>"><img src=x onerror=alert(2)></nowiki> piégé
}}}}"""


def _hostile_page() -> str:
    from xml.sax.saxutils import escape

    return f"""  <page>
    <title>Lieu hostile</title>
    <ns>0</ns>
    <id>99901</id>
    <revision>
      <id>99902</id>
      <timestamp>2024-05-01T10:00:00Z</timestamp>
      <contributor><username>Mallory</username><id>999</id></contributor>
      <model>wikitext</model>
      <format>text/x-wiki</format>
      <text xml:space="preserve">{escape(HOSTILE_TEXT)}</text>
    </revision>
  </page>
"""


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """The sample wiki and the hostile page, built and published."""
    folder = tmp_path_factory.mktemp("site")
    xml = sample_dump().read_text(encoding="utf-8")
    page = _hostile_page()
    dump = folder / "wiki.xml"
    dump.write_text(xml.replace("</mediawiki>", page + "</mediawiki>"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--quiet", "run", "--dump", str(dump), "--store",
                                      str(folder / "store.sqlite"), "--out",
                                      str(folder / "exports")])
    assert result.exit_code in (0, 3), (result.output, result.exception)
    return folder / "exports"


# --------------------------------------------------------------------------- the files


def test_checksums_cover_the_site(release: Path) -> None:
    sums = (release / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in sums}
    site_files = sorted(p.relative_to(release).as_posix()
                        for p in (release / "site").rglob("*") if p.is_file())
    assert "index.html" in listed and "site/place/Le_WIP.html" in listed
    assert set(site_files) <= set(listed)
    for name in ("index.html", "site/place/Le_WIP.ttl", "site/ontology.html"):
        assert hashlib.sha256((release / name).read_bytes()).hexdigest() == listed[name]
    done = subprocess.run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=release,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((release / "report.json").read_text(encoding="utf-8"))
    entity_files = [n for n in site_files if n.count("/") >= 2]
    assert report["site"]["files"] == len(entity_files) == 4 * report["site"]["pages"]


def test_sums_of_sub_folders_read_by_sha256sum(tmp_path: Path) -> None:
    """SHA256SUMS names files of sub-folders, escaped as GNU sha256sum escapes them."""
    from tierslieux.exports.report import write_sums

    (tmp_path / "site" / "a b").mkdir(parents=True)
    (tmp_path / "site" / "a b" / "x\\y.html").write_text("x", encoding="utf-8")
    (tmp_path / "top.txt").write_text("t", encoding="utf-8")
    write_sums(tmp_path)
    lines = (tmp_path / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("\\") and lines[0].endswith("  site/a b/x\\\\y.html")
    done = subprocess.run(["sha256sum", "--check", "SHA256SUMS"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.count(": OK") == 2, done.stdout + done.stderr
    from tierslieux.validation.release import check_checksums

    assert list(check_checksums(tmp_path)) == []
    (tmp_path / "site" / "a b" / "x\\y.html").write_text("changed", encoding="utf-8")
    (tmp_path / "site" / "extra.css").write_text("", encoding="utf-8")
    assert list(check_checksums(tmp_path)) == [
        "site/a b/x\\y.html does not match its SHA-256 in SHA256SUMS",
        "site/extra.css is not listed in SHA256SUMS"]


def test_same_store_same_site(release: Path, tmp_path: Path) -> None:
    """A second build of the same store writes the same bytes in every site file."""
    store = release.parent / "store.sqlite"
    result = CliRunner().invoke(cli, ["--quiet", "build", "--store", str(store), "--out",
                                      str(tmp_path / "again"), "--force"])
    assert result.exit_code in (0, 3), result.output
    for name in ("index.html", "site/place/Le_WIP.html", "site/ontology.html"):
        assert (tmp_path / "again" / name).read_bytes() == (release / name).read_bytes()
    first = {p.relative_to(release): p.read_bytes() for p in (release / "site").rglob("*")
             if p.is_file()}
    again = tmp_path / "again"
    second = {p.relative_to(again): p.read_bytes() for p in (again / "site").rglob("*")
              if p.is_file()}
    assert first == second


DATASET = "https://w3id.org/tierslieux/movilab/dataset"


def _catalogue_lines(folder: Path) -> list[str]:
    """The triples of a release's catalog.ttl as N-Triples lines (it has no blank node)."""
    import pyoxigraph as ox

    return [ox.serialize([q.triple], format=ox.RdfFormat.N_TRIPLES).decode().strip()
            for q in ox.parse(path=folder / "catalog.ttl", format=ox.RdfFormat.TURTLE)]


def test_no_site_leaves_the_site_out_and_nothing_else(release: Path, tmp_path: Path) -> None:
    """``--no-site`` (``site = false``): no site/ and no index.html; every other file is the
    same as with the site (SHA256SUMS lists what is there), and the release validates."""
    store = release.parent / "store.sqlite"
    out = tmp_path / "plain"
    result = CliRunner().invoke(cli, ["--quiet", "build", "--store", str(store), "--out",
                                      str(out), "--force", "--no-site"])
    assert result.exit_code in (0, 3), result.output
    assert not (out / "site").exists() and not (out / "index.html").exists()
    with_site = {p.name for p in release.iterdir() if p.is_file()} - {"index.html"}
    assert {p.name for p in out.iterdir()} == with_site
    for name in sorted(with_site - {"report.json", "SHA256SUMS", "catalog.ttl"}):
        assert (out / name).read_bytes() == (release / name).read_bytes(), name
    # the catalogue differs in its landing page only: index.html with the site, the wiki without
    site_lines, plain_lines = (set(_catalogue_lines(folder)) for folder in (release, out))
    landing = "<http://www.w3.org/ns/dcat#landingPage>"
    document = ("<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
                "<http://xmlns.com/foaf/0.1/Document>")
    index = "<https://w3id.org/tierslieux/movilab/release/index.html>"
    wiki = "<https://movilab.org/wiki/>"
    assert site_lines - plain_lines == {f"<{DATASET}> {landing} {index} .", f"{index} {document} ."}
    assert plain_lines - site_lines == {f"<{DATASET}> {landing} {wiki} .", f"{wiki} {document} ."}
    assert json.loads((out / "report.json").read_text(encoding="utf-8"))["site"] is None
    sums = (out / "SHA256SUMS").read_text(encoding="utf-8")
    assert "site/" not in sums and "index.html" not in sums
    assert subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out).returncode == 0
    checked = CliRunner().invoke(cli, ["--quiet", "validate", str(out)])
    assert checked.exit_code == 0, checked.output
    # the configuration file says the same, and --site on the command line wins over it
    (tmp_path / "tierslieux.toml").write_text("site = false\n", encoding="utf-8")
    again = tmp_path / "again"
    result = CliRunner().invoke(cli, ["--quiet", "--config", str(tmp_path / "tierslieux.toml"),
                                      "build", "--store", str(store), "--out", str(again),
                                      "--force"])
    assert result.exit_code in (0, 3), result.output
    assert not (again / "index.html").exists()
    result = CliRunner().invoke(cli, ["--quiet", "--config", str(tmp_path / "tierslieux.toml"),
                                      "build", "--store", str(store), "--out", str(again),
                                      "--force", "--site"])
    assert result.exit_code in (0, 3), result.output
    assert (again / "index.html").read_bytes() == (release / "index.html").read_bytes()


def test_entity_rdf_files_parse(release: Path) -> None:
    import rdflib
    from pyld import jsonld

    subject = rdflib.URIRef("https://w3id.org/tierslieux/movilab/place/Le_WIP")
    graphs = {}
    for ext, fmt in (("ttl", "turtle"), ("nt", "nt")):
        graphs[ext] = rdflib.Graph().parse(release / f"site/place/Le_WIP.{ext}", format=fmt)
    document = json.loads((release / "site/place/Le_WIP.jsonld").read_text(encoding="utf-8"))
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads"})
    graphs["jsonld"] = rdflib.Graph().parse(data=nquads, format="nt")
    for ext, graph in graphs.items():
        assert len(graph) == len(graphs["nt"]) > 10, ext
        assert (subject, rdflib.URIRef("https://w3id.org/tierslieux/ontology#town"),
                rdflib.Literal("Colombelles")) in graph, ext
    from rdflib.compare import isomorphic

    assert isomorphic(graphs["ttl"], graphs["jsonld"])


def _schema_org(html: str) -> dict:
    found = re.search(r'<script type="application/ld\+json">\s*(.*?)\s*</script>', html, re.S)
    assert found, "no schema.org JSON-LD in the landing page"
    return json.loads(found.group(1))


def test_schema_org_dataset_parses_with_pyld(release: Path) -> None:
    from pyld import jsonld

    data = _schema_org((release / "index.html").read_text(encoding="utf-8"))
    expanded = jsonld.expand(data)
    assert len(expanded) == 1
    node = expanded[0]
    s = "https://schema.org/"
    assert node["@type"] == [s + "Dataset"]
    assert node[s + "name"][0]["@value"].startswith("Tiers-lieux et collectivités")
    assert node[s + "license"][0]["@value"] == "https://creativecommons.org/licenses/by-sa/4.0/"
    distributions = node[s + "distribution"]
    urls = {d[s + "contentUrl"][0]["@value"] for d in distributions}
    assert "https://w3id.org/tierslieux/movilab/release/tierslieux.ttl" in urls
    assert len(distributions) >= 10
    for d in distributions:
        assert d[s + "encodingFormat"][0]["@value"]
        assert d["@type"] == [s + "DataDownload"]
    assert node[s + "temporalCoverage"][0]["@value"].count("/") == 1


def test_hostile_values_are_text_in_the_source(release: Path) -> None:
    html = (release / "site/place/Lieu_hostile.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;nom&#34;)&lt;/script&gt;" in html
    landing = (release / "index.html").read_text(encoding="utf-8")
    assert "<script>alert" not in landing
    data = _schema_org(landing)   # the name is not there, but nothing broke the script
    assert data["@type"] == "Dataset"


# --------------------------------------------------------------------------- the servers


@pytest.fixture(scope="module")
def served(release: Path):
    """The release behind ``tierslieux serve`` (root of the site: /release/)."""
    from tierslieux.sparql.serve import start_endpoint

    port = free_port()
    with start_endpoint(release, "127.0.0.1", port, cache_dir=release.parent / "cache") as ep:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def static(release: Path):
    """The release folder on a plain HTTP server."""
    port = free_port()
    yield from _server([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                        "--directory", str(release)], port, "index.html")


def _server(command: list[str], port: int, page: str):
    """Start ``command`` (a server on loopback ``port``), wait until it serves ``page``, yield
    its root address, and stop it (the body of a server fixture)."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/{page}", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(params=["serve", "static"])
def site(request) -> str:
    """The address of the site's root (where index.html is)."""
    if request.param == "serve":
        return request.getfixturevalue("served") + "/release/"
    return request.getfixturevalue("static") + "/"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag in ("a", "link") and attrs.get("href"):
            self.links.append(attrs["href"])


def _uri(iri: str) -> str:
    """An address as a browser sends it: non-ASCII characters percent-encoded as UTF-8."""
    return urllib.parse.quote(iri, safe=":/?#[]@!$&'()*+,;=%~")


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(_uri(url), timeout=30) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, b"", ""


def test_crawl_every_internal_link_resolves(site: str, release: Path) -> None:
    """Every link of every page under the site's root answers 200, every #fragment names an
    element of its page, and the crawl from the landing page reaches every page."""
    seen: dict[str, set[str]] = {}
    queue, broken, links = [site + "index.html"], [], 0
    fragments: list[tuple[str, str, str]] = []
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        status, body, kind = _get(url)
        if status != 200:
            broken.append(url)
            seen[url] = set()
            continue
        parser = _Links()
        if kind.startswith("text/html"):
            parser.feed(body.decode("utf-8"))
        seen[url] = parser.ids
        for href in parser.links:
            target, _, fragment = urllib.parse.urljoin(url, href).partition("#")
            if not target.startswith(site):
                continue
            links += 1
            if fragment:
                fragments.append((url, target, fragment))
            if target not in seen:
                queue.append(target)
    missing = [f"{page} -> {target}#{frag}" for page, target, frag in fragments
               if seen.get(target) is not None and frag not in seen[target]
               and target.endswith(".html")]
    pages = sum(1 for u in seen if u.endswith(".html"))
    print(f"crawl of {site}: {len(seen)} documents ({pages} pages), {links} internal links, "
          f"{len(broken)} broken, {len(missing)} missing fragments")
    assert not broken, broken[:10]
    assert not missing, missing[:10]
    reached = {urllib.parse.unquote(u[len(site):]) for u in seen if u.endswith(".html")}
    written = {p.relative_to(release).as_posix() for p in release.rglob("*.html")}
    assert written - reached == {"site/404.html"}
    assert links > 1000


def _console_errors(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _shots(name: str, tmp_path: Path) -> Path:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name
    return tmp_path / name


def _title(driver, seconds: float = 15.0) -> None:
    """Wait until the page has its title: under load (a CI machine running the whole suite)
    Chromium was once seen answering ``get`` with the title still empty."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, seconds).until(lambda d: d.title)
    except TimeoutException:
        pass  # the assertion that follows says what the page is


def test_landing_page_in_chromium(chromium, site: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    chromium.get_log("browser")
    chromium.get(site + "index.html")
    _title(chromium)
    assert chromium.title.startswith("Tiers-lieux et collectivités")
    assert chromium.find_element(By.TAG_NAME, "h1").text.startswith("Tiers-lieux")
    charts = chromium.find_elements(By.CSS_SELECTOR, "figure svg")
    assert len(charts) == 2 and all(c.size["width"] > 100 for c in charts)
    bars = chromium.find_elements(By.CSS_SELECTOR, "figure svg rect.bar")
    assert len(bars) >= 2
    rows = chromium.find_elements(By.CSS_SELECTOR, "table.files tbody tr")
    assert len(rows) >= 15
    assert _console_errors(chromium) == []
    if site.endswith("/release/"):
        shot = _shots("landing.png", tmp_path)
        chromium.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000


def test_le_wip_page_in_chromium(chromium, site: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    chromium.get_log("browser")
    chromium.get(site + "site/place/Le_WIP.html")
    assert chromium.find_element(By.TAG_NAME, "h1").text == "Le WIP"
    links = {a.text: a.get_attribute("href")
             for a in chromium.find_elements(By.CSS_SELECTOR, "table.props a")}
    assert "Colombelles" in links and "France Tiers Lieux" in links and "Tilios" in links
    assert _console_errors(chromium) == []
    if site.endswith("/release/"):
        shot = _shots("entity.png", tmp_path)
        chromium.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
    for text, heading in (("Colombelles", "Colombelles"), ("Tilios", "Tilios")):
        chromium.get(site + "site/place/Le_WIP.html")
        chromium.find_element(By.LINK_TEXT, text).click()
        assert chromium.find_element(By.TAG_NAME, "h1").text == heading
        assert _console_errors(chromium) == []


def test_hostile_values_render_as_text_in_chromium(chromium, site: str) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    chromium.get_log("browser")
    chromium.get(site + "site/place/Lieu_hostile.html")
    assert chromium.find_element(By.TAG_NAME, "h1").text == "Lieu hostile"
    body = chromium.find_element(By.TAG_NAME, "main").text
    assert HOSTILE_NAME in body and HOSTILE_TOWN in body
    assert '"><img src=x onerror=alert(2)>' in body
    assert chromium.find_elements(By.CSS_SELECTOR, "main img") == []
    assert chromium.find_elements(By.CSS_SELECTOR, "main script") == []
    assert chromium.find_elements(By.CSS_SELECTOR, "main b") == []
    with pytest.raises(NoAlertPresentException):
        chromium.switch_to.alert.text  # noqa: B018
    assert _console_errors(chromium) == []


# --------------------------------------------------------------------------- content negotiation


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _ask(url: str, accept: str):
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@pytest.mark.parametrize("accept, ext, kind", [
    ("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", "html", "text/html"),
    ("text/turtle", "ttl", "text/turtle"),
    ("application/ld+json", "jsonld", "application/ld+json"),
    ("application/n-triples", "nt", "application/n-triples"),
    ("application/n-triples;q=0.5, text/turtle;q=0.9", "ttl", "text/turtle"),
])
def test_content_negotiation(served: str, accept: str, ext: str, kind: str) -> None:
    thing = served + "/tierslieux/movilab/place/Le_WIP"
    status, headers, _ = _ask(thing, accept)
    assert status == 303
    assert headers["Vary"] == "Accept"
    assert headers["Location"] == f"/release/site/place/Le_WIP.{ext}"
    status, headers, body = _ask(served + headers["Location"], accept)
    assert status == 200
    assert headers["Content-Type"] == f"{kind}; charset=utf-8"
    assert "Colombelles" in body.decode("utf-8")


def test_content_negotiation_edges(served: str) -> None:
    status, headers, body = _ask(served + "/tierslieux/movilab/place/Nulle_part", "text/html")
    assert status == 404 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Introuvable" in body.decode("utf-8")
    status, headers, _ = _ask(served + "/tierslieux/movilab/place/Le_WIP", "image/png")
    assert status == 406
    status, headers, _ = _ask(served + "/tierslieux/ontology", "text/turtle")
    assert (status, headers["Location"]) == (303, "/release/ontology.ttl")
    status, headers, _ = _ask(served + "/tierslieux/ontology", "text/html")
    assert (status, headers["Location"]) == (303, "/release/site/ontology.html")
    status, headers, _ = _ask(served + "/tierslieux/movilab/", "text/html")
    assert (status, headers["Location"]) == (303, "/release/index.html")
    status, _, _ = _ask(served + "/release/../store.sqlite", "*/*")
    assert status == 404
    status, _, body = _ask(served + "/query?query=ASK%7B%7D", "application/sparql-results+json")
    assert status == 200 and json.loads(body)["boolean"] is True


def test_a_list_item_is_a_fragment_of_its_section(served: str, release: Path) -> None:
    item = "/tierslieux/movilab/page/Préfiguration/section/lead/item/2"
    status, headers, _ = _ask(served + urllib.parse.quote(item), "text/html")
    assert status == 303
    location = headers["Location"]
    assert location.endswith(".html#item-2") and "/section/lead.html" in location
    page = release / "site/page/Préfiguration/section/lead.html"
    assert 'id="item-2"' in page.read_text(encoding="utf-8")
    assert not (release / "site/page/Préfiguration/section/lead/item/2.html").exists()


# --------------------------------------------------------------------------- nginx, no serve


@pytest.fixture(scope="module")
def nginx(release: Path, tmp_path_factory):
    """docs/deploy/nginx.conf, run by a real nginx on a loopback port over the release."""
    import shutil

    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK)
                                       else None)
    if not binary:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and nginx is not installed (scripts/install-test-servers.sh)")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    example = (ROOT / "docs" / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    server = example.replace("/srv/tierslieux/exports/", f"{release}/").replace(
        "127.0.0.1:8080", f"127.0.0.1:{port}")
    temp = "".join(f"{kind}_temp_path {folder}/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"{user}daemon off;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
        f"events {{}}\nhttp {{\naccess_log off;\n{temp}{server}\n}}\n", encoding="utf-8")
    yield from _server([binary, "-p", str(folder), "-c", str(folder / "nginx.conf")], port,
                       "release/index.html")


@pytest.mark.parametrize("accept, ext, kind", [
    ("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", "html", "text/html"),
    ("text/turtle", "ttl", "text/turtle"),
    ("application/ld+json", "jsonld", "application/ld+json"),
    ("application/n-triples", "nt", "application/n-triples"),
])
def test_nginx_example_negotiates_like_serve(nginx: str, served: str, accept: str, ext: str,
                                             kind: str) -> None:
    for host in (nginx, served):
        status, headers, _ = _ask(host + "/tierslieux/movilab/place/Le_WIP", accept)
        assert (status, headers["Location"]) == (303, f"/release/site/place/Le_WIP.{ext}")
        assert "Accept" in headers["Vary"]
        status, headers, body = _ask(host + headers["Location"], accept)
        assert status == 200 and headers["Content-Type"] == f"{kind}; charset=utf-8"
        assert "Colombelles" in body.decode("utf-8")
    item = urllib.parse.quote("/tierslieux/movilab/page/Préfiguration/section/lead/item/2")
    answers = [_ask(host + item, "text/html") for host in (nginx, served)]
    assert answers[0][0] == answers[1][0] == 303
    # nginx writes the decoded path (UTF-8 bytes, which http.client reads as Latin-1), serve
    # the escaped one: the same address
    locations = [urllib.parse.unquote(a[1]["Location"].encode("latin-1").decode("utf-8"))
                 for a in answers]
    assert locations[0] == locations[1] == \
        "/release/site/page/Préfiguration/section/lead.html#item-2"
    for host in (nginx, served):
        status, headers, body = _ask(host + "/tierslieux/movilab/place/Nulle_part", "text/html")
        assert status == 404 and "Introuvable" in body.decode("utf-8")
        assert _ask(host + "/tierslieux/ontology", "text/turtle")[1]["Location"] == \
            "/release/ontology.ttl"


# --------------------------------------------------------------------------- Apache, w3id.org


_APACHE_MODULES = ("mpm_event", "authz_core", "rewrite", "headers")


@pytest.fixture(scope="module")
def apache(served: str):
    """docs/deploy/w3id.htaccess as a w3id.org entry: the file ``tierslieux/.htaccess`` of a
    real Apache (Debian's apache2, mod_rewrite and mod_headers, ``AllowOverride All`` as on
    w3id.org) on a loopback port, ``RELEASE`` being the release as ``serve`` serves it."""
    import shutil
    import tempfile

    binary = shutil.which("apache2") or ("/usr/sbin/apache2"
                                         if os.access("/usr/sbin/apache2", os.X_OK) else None)
    modules = Path("/usr/lib/apache2/modules")
    if not binary or not modules.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and apache2 is not installed (scripts/install-test-servers.sh)")
        pytest.skip("apache2 is not installed (apt-get install apache2)")
    # Apache started as root serves as www-data: a folder that user can read, not pytest's
    folder = Path(tempfile.mkdtemp(prefix="tierslieux-apache-"))
    try:
        folder.chmod(0o755)
        entry = folder / "www" / "tierslieux"
        entry.mkdir(parents=True)
        rules = (ROOT / "docs" / "deploy" / "w3id.htaccess").read_text(encoding="utf-8")
        (entry / ".htaccess").write_text(rules.replace("RELEASE", served + "/release"),
                                         encoding="utf-8")
        (folder / "www" / "up.txt").write_text("up\n", encoding="utf-8")
        for path in (folder / "www", entry, entry / ".htaccess", folder / "www" / "up.txt"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        port = free_port()
        user = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
        loads = "".join(f"LoadModule {name}_module {modules}/mod_{name}.so\n"
                        for name in _APACHE_MODULES)
        (folder / "httpd.conf").write_text(
            f"ServerName 127.0.0.1\nDefaultRuntimeDir {folder}\nPidFile {folder}/httpd.pid\n"
            f"ErrorLog {folder}/error.log\n{loads}{user}Listen 127.0.0.1:{port}\n"
            f"DocumentRoot {folder}/www\n"
            "<Directory />\n  AllowOverride None\n  Require all denied\n</Directory>\n"
            f"<Directory {folder}/www>\n  AllowOverride All\n  Require all granted\n"
            "</Directory>\n", encoding="utf-8")
        yield from _server([binary, "-f", str(folder / "httpd.conf"), "-d", str(folder),
                            "-DFOREGROUND"], port, "up.txt")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("path, accept", [
    ("/tierslieux/movilab/place/Le_WIP", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
    ("/tierslieux/movilab/place/Le_WIP", "text/turtle"),
    ("/tierslieux/movilab/place/Le_WIP", "application/ld+json"),
    ("/tierslieux/movilab/place/Le_WIP", "application/n-triples"),
    ("/tierslieux/movilab/page/Préfiguration/section/lead/item/2", "text/html"),
    ("/tierslieux/movilab/page/Préfiguration/section/lead/item/2", "text/turtle"),
    ("/tierslieux/ontology", "text/turtle"),
    ("/tierslieux/ontology", "text/html"),
    ("/tierslieux/movilab/", "text/html"),
    ("/tierslieux/movilab/dataset", "text/turtle"),
])
def test_w3id_rules_negotiate_like_serve(apache: str, served: str, path: str,
                                         accept: str) -> None:
    """Apache with the w3id.org rules sends each IRI where ``serve`` does (an absolute
    address: the release's), with ``Vary: Accept`` on the 303, and the document is there."""
    quoted = urllib.parse.quote(path)
    answers = [_ask(host + quoted, accept) for host in (apache, served)]
    assert answers[0][0] == answers[1][0] == 303
    assert "Accept" in answers[0][1]["Vary"]
    # Apache writes the decoded path (NE: UTF-8 bytes, read by http.client as Latin-1)
    locations = [urllib.parse.unquote(a[1]["Location"].encode("latin-1").decode("utf-8"))
                 for a in answers]
    assert locations[0] == served + locations[1]
    status, _, body = _ask(urllib.parse.quote(locations[0].split("#")[0], safe=":/"), accept)
    assert status == 200 and body


def test_a_base_iri_at_the_root_leaves_sparql_to_oxigraph(release: Path) -> None:
    from tierslieux.sparql.conneg import Negotiator

    negotiator = Negotiator(release, "https://data.example.org/")
    assert negotiator.answer("/query?query=ASK%7B%7D", "*/*") is None
    assert negotiator.answer("/store?default", "text/turtle") is None
    answer = negotiator.answer("/place/Le_WIP", "text/turtle")
    assert answer is not None and answer.status == 303
    assert dict(answer.headers)["Location"] == "/release/site/place/Le_WIP.ttl"
    assert negotiator.answer("/place/Nulle_part", "text/turtle").status == 404
