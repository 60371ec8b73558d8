"""tierslieux: an open-data publisher for Movilab-style semantic wikis."""

__version__ = "0.1.0.dev0"
