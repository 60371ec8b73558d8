"""SPARQL over a published release: query it, serve it, push it to a triple store.

A release is a folder written by the exports stage (``tierslieux.nt.gz``, ``SHA256SUMS``, …).
Everything here runs on Oxigraph: the embedded ``pyoxigraph`` store for ``query`` and the
``oxigraph`` server binary (PyPI package ``oxigraph``) for ``serve``.

Modules (each imports only those above it):

- :mod:`~tierslieux.sparql.format`: how answers are written (tables, W3C formats);
- :mod:`~tierslieux.sparql.cache`: the release and its Oxigraph store cached beside it;
- :mod:`~tierslieux.sparql.query`: ``tierslieux query`` and the worked queries;
- :mod:`~tierslieux.sparql.front` and :mod:`~tierslieux.sparql.serve`: ``tierslieux serve``;
- :mod:`~tierslieux.sparql.push`: ``tierslieux push``.
"""
