"""``tierslieux.runner.job``: the cron contract as a library call (no command line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierslieux.config import Config
from tierslieux.errors import ConfigError, LockedError, MissingInputError
from tierslieux.runner import job
from tierslieux.runner.history import Outcome, history_path, read_runs
from tierslieux.runner.lock import acquire_lock, lock_path


def config(tmp_path: Path, **values) -> Config:
    return Config(store=tmp_path / "s.sqlite", out=tmp_path / "out", workers=1, **values)


def test_run_publishes_then_skips_an_unchanged_wiki(tmp_path):
    cfg = config(tmp_path)
    first = job.run(cfg)
    assert first.outcome is Outcome.OK
    assert first.harvest.pages_new == first.build.pages > 0
    assert (cfg.out / "SHA256SUMS").is_file()
    again = job.run(cfg)
    assert again.outcome is Outcome.UNCHANGED and again.build is None
    runs = read_runs(history_path(cfg.store))
    assert [(r.command, r.outcome) for r in runs] == [("run", Outcome.OK),
                                                      ("run", Outcome.UNCHANGED)]
    assert runs[0].triples == first.build.triples and runs[0].pages_new == first.build.pages
    assert runs[1].triples == 0 and runs[1].source == "bundled sample"
    assert not lock_path(cfg.store).exists()
    forced = job.run(cfg, force=True)
    assert forced.outcome is Outcome.OK and forced.build.triples == first.build.triples


def test_a_library_build_takes_the_lock_and_records_it(tmp_path):
    cfg = config(tmp_path)
    job.harvest(config(tmp_path, dump=None, wiki=None).merged(dump=_sample()))
    with acquire_lock(cfg.store, command="someone else"):
        with pytest.raises(LockedError):
            job.build(cfg)
    (record,) = [r for r in read_runs(history_path(cfg.store)) if r.command == "build"]
    assert record.outcome is Outcome.LOCKED and record.exit_code == 7
    assert not cfg.out.exists()
    assert job.build(cfg).outcome is Outcome.OK


def test_what_is_missing_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="give --wiki URL or --dump FILE"):
        job.harvest(config(tmp_path))
    with pytest.raises(MissingInputError, match="no such file"):
        job.run(config(tmp_path, dump=tmp_path / "missing.xml"))
    with pytest.raises(MissingInputError, match="no store at"):
        job.build(config(tmp_path))
    assert list(tmp_path.iterdir()) == []


def _sample() -> Path:
    from tierslieux.runner.build import sample_dump

    return sample_dump()
