"""The exports stage: every published file of a release, validated and published atomically.

Entry point: :func:`tierslieux.exports.release.write_release`.
"""

from tierslieux.exports.diff import ReleaseDiff
from tierslieux.exports.release import ReleaseMeta, ReleaseResult, write_release

__all__ = ["ReleaseDiff", "ReleaseMeta", "ReleaseResult", "write_release"]
