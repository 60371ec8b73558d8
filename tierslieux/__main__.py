"""``python -m tierslieux``: the command line, as the ``tierslieux`` script runs it."""

from tierslieux.cli import main

main()
