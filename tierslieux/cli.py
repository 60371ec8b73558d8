"""The command line: a thin Click layer over the library.

Each command reads the effective configuration (``tierslieux.toml`` < command line), calls the
library, and turns the library's typed exceptions (``tierslieux.errors``) into a one-line
message and a documented exit code (``tierslieux.runner.history.ExitCode``).
"""

from __future__ import annotations

import functools
import logging
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from tierslieux import __version__
from tierslieux.config import Config, load_config
from tierslieux.errors import TierslieuxError, ValidationError
from tierslieux.runner import job
from tierslieux.runner.history import ExitCode, exit_code_for, setup_logging
from tierslieux.runner.job import JobResult
from tierslieux.model.secrets import redact

log = logging.getLogger("tierslieux")


@dataclass
class App:
    """What every command gets: the configuration and the output settings."""

    config_file: Path | None
    quiet: bool
    log_format: str = "text"
    #: draw progress even when stderr is not a terminal
    force_progress: bool = False
    _config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_file)
        return self._config

    @property
    def tty(self) -> bool:
        return self.force_progress or sys.stderr.isatty()

    def phase(self, label: str) -> Callable[[int, int | None], None] | None:
        """A callback drawing ``label: done/total`` on a terminal; None on a pipe or with -q."""
        if self.quiet or not self.tty:
            return None

        if not sys.stderr.isatty():   # forced onto a pipe: a plain line every 2 s at most
            last = [0.0]

            def line(done: int, total: int | None) -> None:
                now = time.monotonic()
                if now - last[0] >= 2 or (total and done >= total):
                    last[0] = now
                    click.echo(f"{label}: {done}" + (f"/{total}" if total else ""), err=True)

            return line

        def draw(done: int, total: int | None) -> None:
            end = f"/{total}" if total else ""
            # the last count stays on its line: what follows (a long release phase) logs below
            click.echo(f"\r\033[K{label}: {done}{end}", err=True,
                       nl=bool(total) and done >= total)  # type: ignore[operator]

        return draw

    def end(self) -> None:
        if sys.stderr.isatty() and not self.quiet:
            click.echo("\r\033[K", err=True, nl=False)


def handle_errors(func: Callable) -> Callable:
    """Turn library errors into one line on stderr and the error's exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except TierslieuxError as exc:
            _fail(redact(str(exc)), int(exit_code_for(exc)))
        except KeyboardInterrupt:
            resumable = click.get_current_context().info_name in ("run", "harvest", "build")
            click.echo("Interrupted; run the same command again to finish." if resumable
                       else "Interrupted.", err=True)
            sys.exit(int(ExitCode.INTERRUPTED))
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:   # a bug: keep its traceback for the report, without secrets
            trace = redact("".join(traceback.format_exception(exc)))
            del exc
            click.echo(trace.rstrip("\n"), err=True)
            _fail("unexpected failure (a bug in tierslieux; please report it with the traceback "
                  "above)", int(ExitCode.ERROR))

    return wrapper


def _fail(message: str, code: int) -> None:
    app = click.get_current_context().find_object(App)
    if app is not None and app.log_format == "json":
        log.error(message, extra={"exit_code": code})
    else:
        click.echo(f"Error: {message}", err=True)
    sys.exit(code)


#: --help is laid out for 100 columns whatever the terminal: the README quotes it verbatim
@click.group(context_settings={"help_option_names": ["-h", "--help"], "terminal_width": 100,
                               "max_content_width": 100})
@click.version_option(__version__, prog_name="tierslieux")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Configuration file [default: ./tierslieux.toml if present].")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="Log lines as text (default) or JSON lines, on stderr.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but warnings and errors.")
@click.option("-v", "--verbose", is_flag=True, help="Print debugging details.")
@click.option("--progress", is_flag=True,
              help="Report progress even when stderr is not a terminal.")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, log_format: str | None, quiet: bool,
        verbose: bool, progress: bool) -> None:
    """Harvest a Movilab-style MediaWiki and publish it as open data (RDF, CSV, DCAT)."""
    app = App(config_file=config_file, quiet=quiet, force_progress=progress)
    ctx.obj = app
    fmt = log_format
    if fmt is None:
        try:
            fmt = app.config.log_format
        except TierslieuxError:
            fmt = "text"   # the command reports the configuration error itself
    app.log_format = fmt
    setup_logging(fmt, quiet=quiet, verbose=verbose)


# ------------------------------------------------------------------------ options


def _options(*decorators: Callable) -> Callable:
    def apply(func: Callable) -> Callable:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


store_option = click.option(
    "--store", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="SQLite store of harvested pages [default: tierslieux.sqlite].",
)
source_options = _options(
    click.option("--wiki", metavar="URL", default=None,
                 help="A live MediaWiki: its address, a page address or its api.php."),
    click.option("--dump", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="A MediaWiki XML export (.xml, .xml.gz, .xml.bz2), or a Wikimedia "
                      "multistream dump (its parts read in parallel)."),
    click.option("--dump-index", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="The index of a multistream dump [default: the "
                      "*-multistream-index.txt.bz2 beside it]."),
    store_option,
    click.option("--namespace", "namespaces", type=int, multiple=True,
                 help="Namespace number to harvest (repeatable) [default: 0, the articles]."),
    click.option("--category", "categories", multiple=True, metavar="NAME",
                 help="Only pages of this category (repeatable)."),
    click.option("--full", is_flag=True, help="Full harvest even when an incremental one is possible."),
    click.option("--contact", default=None, metavar="EMAIL|URL",
                 help="Contact put in the User-Agent (or $TIERSLIEUX_CONTACT)."),
    click.option("--delay", type=float, default=None, metavar="SECONDS",
                 help="Pause between two API requests [default: 1.0]."),
    click.option("--deadline", type=float, default=None, metavar="SECONDS",
                 help="Stop a live harvest that takes longer (the next run goes on) "
                      "[default: 0, no limit]."),
)
cluster_option = click.option(
    "--cluster", default=None, metavar="tcp://HOST:PORT",
    help="A Dask scheduler: the per-page work runs on its workers [default: the local pool].")
build_options = _options(
    click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                 help="Folder of the published release [default: exports]."),
    click.option("--base-iri", default=None, metavar="IRI",
                 help="Root of the data IRIs [default: https://w3id.org/tierslieux/movilab/]."),
    click.option("--publication-url", default=None, metavar="URL",
                 help="Address where the release folder is served (for the catalogue)."),
    click.option("--mapping", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="Mapping file replacing the bundled one."),
    click.option("--force", is_flag=True,
                 help="Build and publish even when nothing changed or the release shrinks "
                      "more than the diff threshold."),
    click.option("--diff-threshold", type=float, default=None, metavar="SHARE",
                 help="Largest share (0..1) of the previous release a build may drop without "
                      "--force [default: 0.10]."),
    click.option("--workers", type=click.IntRange(min=0), default=None, metavar="N",
                 help="Processes that parse, map and write [default: 0, one per core]."),
    click.option("--site/--no-site", default=None,
                 help="Write the Linked Data site (site/ and index.html) [default: --site]."),
)


# ------------------------------------------------------------------------ the work


def _exit_with(result: JobResult) -> None:
    code = exit_code_for(result.outcome)
    if code != ExitCode.OK:
        sys.exit(int(code))


# ------------------------------------------------------------------------ commands


@cli.command()
@source_options
@build_options
@cluster_option
@click.pass_obj
@handle_errors
def run(app: App, wiki, dump, dump_index, store, namespaces, categories, full, contact, delay,
        deadline, out, base_iri, publication_url, mapping, force, diff_threshold, workers, site,
        cluster) -> None:
    """Harvest, then build and publish. With neither --wiki nor --dump: the bundled sample.

    When the harvest changed nothing and a release exists, the build is skipped (exit code 8).
    """
    cfg = app.config.merged(wiki=wiki, dump=dump, store=store, namespaces=namespaces,
                            categories=categories, contact=contact, delay=delay,
                            deadline=deadline, out=out, base_iri=base_iri, publication_url=publication_url, mapping=mapping,
                            diff_threshold=diff_threshold, workers=workers, site=site,
                            cluster=cluster, dump_index=dump_index)
    _exit_with(job.run(cfg, full=full, force=force, progress=app))


@cli.command()
@source_options
@cluster_option
@click.option("--workers", type=click.IntRange(min=0), default=None, metavar="N",
              help="Processes that parse a multistream dump [default: 0, one per core].")
@click.pass_obj
@handle_errors
def harvest(app: App, wiki, dump, dump_index, store, namespaces, categories, full, contact,
            delay, deadline, cluster, workers) -> None:
    """Fill the store from a live wiki (--wiki) or an XML export (--dump).

    A store that already holds a harvest of the wiki is updated incrementally (only what changed
    since), unless --full.
    """
    cfg = app.config.merged(wiki=wiki, dump=dump, store=store, namespaces=namespaces,
                            categories=categories, contact=contact, delay=delay,
                            deadline=deadline, cluster=cluster, workers=workers,
                            dump_index=dump_index)
    if not cfg.wiki and not cfg.dump:
        raise click.UsageError("give --wiki URL or --dump FILE (or set one in tierslieux.toml)")
    job.harvest(cfg, full=full, progress=app)


@cli.command()
@store_option
@build_options
@cluster_option
@click.option("--state", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Build straight from the multistream dump --dump, no store: the folder "
                   "of the build's state (on a filesystem every worker sees).")
@click.option("--dump", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --state: the Wikimedia multistream dump to build from.")
@click.option("--dump-index", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --state: the dump's index [default: the one beside it].")
@click.option("--namespace", "namespaces", type=int, multiple=True,
              help="With --state: namespace of the dump to build (repeatable) [default: 0].")
@click.pass_obj
@handle_errors
def build(app: App, store, out, base_iri, publication_url, mapping, force, diff_threshold,
          workers, site, cluster, state, dump, dump_index, namespaces) -> None:
    """Parse, map, validate and publish the harvested store (no network); with --state,
    a multistream dump's partitions instead of the store."""
    cfg = app.config.merged(store=store, out=out, base_iri=base_iri,
                            publication_url=publication_url, mapping=mapping,
                            diff_threshold=diff_threshold, workers=workers, site=site,
                            cluster=cluster, state=state, dump=dump, dump_index=dump_index,
                            namespaces=namespaces)
    if cfg.state is None and (dump or dump_index or namespaces):
        raise click.UsageError("--dump, --dump-index and --namespace of build need --state "
                               "(a build straight from a multistream dump)")
    if cfg.state is not None:
        if not cfg.dump:
            raise click.UsageError("--state needs --dump (a multistream dump) or a dump in "
                                   "tierslieux.toml")
        _exit_with(job.build_dump(cfg, force=force, progress=app))
        return
    _exit_with(job.build(cfg, force=force, progress=app))


@cli.command()
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
@handle_errors
def validate(app: App, folder: Path | None) -> None:
    """Check a published release (default: the output folder, exports).

    Checksums, parse-back of every RDF file, Table Schema of the CSV files, and the SHACL shapes;
    violations are listed with the page they come from. Exit code 5 when the release is invalid.
    """
    from tierslieux.validation.release import check_release

    checked = check_release(folder or app.config.out)
    click.echo(checked.text(), nl=False)
    if not checked.valid:
        raise ValidationError(checked.summary())
    log.info(checked.summary())


@cli.command()
@store_option
@click.option("--mapping", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Mapping file to survey against [default: the configured one, else the "
                   "bundled one].")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@click.pass_obj
@handle_errors
def survey(app: App, store, mapping, fmt) -> None:
    """List the templates, parameters, headings and categories of a harvested wiki.

    For each: how often it occurs, on how many pages, and whether the mapping maps, ignores or
    misses it. This is how to write the mapping for a wiki seen for the first time.
    """
    from tierslieux.ontology import load_mapping
    from tierslieux.pipeline.store import Store
    from tierslieux.pipeline.survey import survey_store

    cfg = app.config.merged(store=store, mapping=mapping)
    with Store(cfg.store, create=False) as opened:
        report = survey_store(opened, load_mapping(cfg.mapping))
    click.echo(report.render(fmt), nl=False)
    if fmt == "table":
        log.info(report.summary_line())
        for line in report.failure_lines():
            log.warning(line)


def data_option(verb: str) -> Callable:
    return click.option(
        "--data", type=click.Path(file_okay=False, path_type=Path), default=None,
        help=f"Release folder to {verb} [default: the configured output folder, exports].",
    )


@cli.command()
@data_option("query")
@click.argument("sparql", required=False)
@click.option("-f", "--file", "query_file", default=None, metavar="FILE.rq|NAME",
              help="Read the query from a file, or name a worked query (see --list).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "tsv", "json"]),
              default="table", show_default=True, help="Output format.")
@click.option("--list", "list_queries", is_flag=True, help="List the worked research queries.")
@click.option("--allow-service", is_flag=True,
              help="Let the query use SERVICE (fetch the remote endpoints it names).")
@click.pass_obj
@handle_errors
def query(app: App, data, sparql, query_file, fmt, list_queries, allow_service) -> None:
    """Answer a SPARQL query (SELECT, ASK, CONSTRUCT, DESCRIBE) over a release.

    The release is loaded once into a cached Oxigraph store beside it; later queries reuse it
    while the release's checksums are unchanged. A syntax error exits with code 2.
    """
    from tierslieux.sparql.query import load_query, run_query, worked_queries

    if list_queries:
        for worked in worked_queries():
            click.echo(f"{worked.name}: {worked.question}")
        return
    if (sparql is None) == (query_file is None):
        raise click.UsageError("give a SPARQL query or -f FILE.rq (one of them)")
    if query_file is not None:
        sparql = load_query(query_file)
    data = data or app.config.out
    click.echo(run_query(data, sparql, fmt, allow_service=allow_service), nl=False)


@cli.command()
@data_option("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback by default).")
@click.option("--port", type=int, default=7878, show_default=True, help="Port to listen on.")
@click.option("--timeout", "timeout_s", type=click.IntRange(min=0), default=30,
              show_default=True, metavar="SECONDS",
              help="Stop a query running longer (0: no limit).")
@click.option("--max-result-mb", type=click.IntRange(min=1), default=64, show_default=True,
              metavar="MB", help="Refuse answers larger than this.")
@click.option("--allow-service", is_flag=True,
              help="Let queries use SERVICE: the server then fetches any address a client "
                   "names (only for trusted clients).")
@click.option("--no-cors", is_flag=True,
              help="Do not answer browsers of other origins (CORS is open by default).")
@click.pass_obj
@handle_errors
def serve(app: App, data, host, port, timeout_s, max_result_mb, allow_service, no_cors) -> None:
    """Serve a release as a read-only SPARQL 1.1 Protocol endpoint (Oxigraph), until Ctrl-C.

    SERVICE is refused, queries are stopped after --timeout seconds and answers over
    --max-result-mb refused, unless told otherwise.
    """
    from tierslieux.sparql.serve import serve as serve_release

    data = data or app.config.out
    serve_release(data, host, port, timeout_s=timeout_s or None, allow_service=allow_service,
                  max_result_bytes=max_result_mb << 20, cors=not no_cors,
                  on_ready=lambda url: click.echo(url))


@cli.command()
@data_option("push")
@click.option("--endpoint", required=True, metavar="URL",
              help="Graph Store Protocol address of the triple store (e.g. http://host/store).")
@click.option("--graph", default=None, metavar="IRI",
              help="Named graph to replace [default: the dataset IRI of the release].")
@click.pass_obj
@handle_errors
def push(app: App, data, endpoint, graph) -> None:
    """Replace one named graph of an external triple store with the release.

    Credentials come from $TIERSLIEUX_SPARQL_USER and $TIERSLIEUX_SPARQL_PASSWORD.
    """
    from tierslieux.sparql.push import push as push_release

    data = data or app.config.out
    result = push_release(data, endpoint, graph)
    log.info(f"Pushed {result.triples} triples into <{result.graph}> at {result.url} "
               f"(HTTP {result.status}, {result.seconds:.1f} s).")


@cli.command("config")
@click.pass_obj
@handle_errors
def show_config(app: App) -> None:
    """Print the effective configuration (secrets masked) and where each value comes from."""
    click.echo(app.config.to_display(), nl=False)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point; ``argv`` lets tests and scripts call it directly."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="tierslieux")


if __name__ == "__main__":  # pragma: no cover
    main()
