"""The validation gate of a release and the clock of its steps (release.py)."""

from __future__ import annotations

from collections.abc import Sequence

from tierslieux.errors import ValidationError
from tierslieux.validation.release import (
    StagedRelease,
    Validator,
    check_rdf_files,
    validator_name,
)


class Clock:
    """The seconds each step of a release took."""

    def __init__(self) -> None:
        import time

        self._now = time.perf_counter
        self._last = self._now()
        self.laps: list[tuple[str, float]] = []

    def lap(self, step: str) -> None:
        now = self._now()
        self.laps.append((step, round(now - self._last, 3)))
        self._last = now


def validate(staged: StagedRelease, validators: Sequence[Validator], clock: Clock
             ) -> list[str]:
    """Run the validators side by side (each in a thread: the parse-back works in processes
    of its own and the SHACL check in the build's pool, so the table checks have the
    interpreter to themselves); the first problem in their order (the parse-back of the RDF
    files first) stops the release."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    checks = [check_rdf_files] + [v for v in validators if v is not check_rdf_files]

    def run(validator: Validator) -> tuple[list, float]:
        started = time.perf_counter()
        problems = list(validator(staged))
        return problems, time.perf_counter() - started

    with ThreadPoolExecutor(len(checks), thread_name_prefix="validate") as threads:
        futures = [threads.submit(run, validator) for validator in checks]
        ran = []
        seconds = []
        for validator, future in zip(checks, futures):
            name = validator_name(validator)
            problems, took = future.result()
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                first = " ".join(str(problems[0]).split())  # one line, whatever it said
                raise ValidationError(f"{name}: {first}{more}")
            ran.append(name)
            seconds.append((name, took))
    clock.lap("validate")
    clock.laps.extend((f"validator {name}", round(took, 3)) for name, took in seconds)
    return ran
