"""The command line: a thin Click layer over the library.

Each command parses its options, calls one library function, and turns the library's typed
exceptions (``tierslieux.errors``) into a one-line message and an exit code.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from tierslieux import __version__
from tierslieux.errors import TierslieuxError

DEFAULT_STORE = "tierslieux.sqlite"
DEFAULT_OUT = "exports"


class Output:
    """Where progress and messages go: stderr, progress only on a terminal."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()

    def info(self, message: str) -> None:
        if not self.quiet:
            click.echo(message, err=True)

    def progress(self, label: str) -> Callable[[int, int | None], None] | None:
        """A callback drawing ``label: done/total`` on a terminal; None elsewhere."""
        if self.quiet or not self.tty:
            return None

        def draw(done: int, total: int | None) -> None:
            end = f"/{total}" if total else ""
            click.echo(f"\r{label}: {done}{end}", err=True, nl=False)
            if total and done >= total:
                click.echo("", err=True)

        return draw

    def done(self) -> None:
        if self.tty and not self.quiet:
            click.echo("\r\033[K", err=True, nl=False)


def handle_errors(func: Callable) -> Callable:
    """Turn library errors into one line on stderr and the error's exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except TierslieuxError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tierslieux")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool) -> None:
    """Harvest a Movilab-style MediaWiki and publish it as open data (RDF, CSV, DCAT)."""
    ctx.obj = Output(quiet=quiet)


# ------------------------------------------------------------------------ options

store_option = click.option(
    "--store", "store_path", type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_STORE, show_default=True, help="SQLite store of harvested pages.",
)
out_option = click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT, show_default=True, help="Folder of the published release.",
)
base_iri_option = click.option(
    "--base-iri", default=None, metavar="IRI",
    help="Root of the data IRIs [default: https://w3id.org/tierslieux/movilab/].",
)
dump_option = click.option(
    "--dump", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="A MediaWiki XML export (.xml, .xml.gz, .xml.bz2).",
)


def _harvest(output: Output, store_path: Path, dump: Path | None) -> dict:
    from tierslieux.pipeline.harvest import harvest_dump
    from tierslieux.pipeline.store import Store

    with Store(store_path) as store:
        report = harvest_dump(dump, store, progress=output.progress("pages read"))
    output.done()
    output.info(
        f"Harvested {report.pages_fetched} pages from {dump.name} into {store_path}: "
        f"{report.pages_new} new, {report.pages_changed} changed, "
        f"{report.pages_deleted} deleted."
    )
    return report.stats()


def _build(output: Output, store_path: Path, out_dir: Path, base_iri: str | None,
           stats: dict | None = None, started: str = "") -> None:
    from tierslieux.pipeline.build import DEFAULT_BASE_IRI, BuildOptions, build

    options = BuildOptions(base_iri=base_iri or DEFAULT_BASE_IRI, stats=stats or {},
                           started=started)
    result = build(store_path, out_dir, options, progress=output.progress("pages built"))
    output.done()
    output.info(
        f"Published {result.triples} triples from {result.pages} pages to {out_dir}/ "
        f"({len(result.warnings)} warnings)."
    )


# ------------------------------------------------------------------------ commands


@cli.command()
@dump_option
@store_option
@out_option
@base_iri_option
@click.pass_obj
@handle_errors
def run(output: Output, dump: Path | None, store_path: Path, out_dir: Path,
        base_iri: str | None) -> None:
    """Harvest, then build and publish. With no --dump: the bundled sample wiki."""
    from tierslieux.pipeline.build import sample_dump
    from tierslieux.pipeline.harvest import now_utc

    started = now_utc()
    stats = _harvest(output, store_path, dump or sample_dump())
    _build(output, store_path, out_dir, base_iri, stats, started)


@cli.command()
@dump_option
@store_option
@click.pass_obj
@handle_errors
def harvest(output: Output, dump: Path | None, store_path: Path) -> None:
    """Fill the store from a wiki: an XML export (--dump)."""
    if dump is None:
        raise click.UsageError("give --dump FILE")
    _harvest(output, store_path, dump)


@cli.command()
@store_option
@out_option
@base_iri_option
@click.pass_obj
@handle_errors
def build(output: Output, store_path: Path, out_dir: Path, base_iri: str | None) -> None:
    """Parse, map, validate and publish the harvested store (no network)."""
    from tierslieux.pipeline.harvest import now_utc

    _build(output, store_path, out_dir, base_iri, started=now_utc())


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point; ``argv`` lets tests and scripts call it directly."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="tierslieux")


if __name__ == "__main__":  # pragma: no cover
    main()
