"""Validation: every check a release passes before it is published, in one package.

- ``report``: the one SHACL report type (``Violation``, ``ValidationReport``), whichever
  engine made it;
- ``shapes`` + ``shacl``: the fast engine, the shapes compiled to plain checks, streaming over
  a sorted dump subject by subject; ``reference``: pyshacl on one graph, the reference the fast
  engine is tested against and the fallback for shapes it cannot run (``Unsupported``);
- ``tables``: the Table Schema checks of ``datapackage.json`` made streaming, the same checks
  frictionless (the reference) makes, for tables too big for it;
- ``release``: the validators a staged release must pass (parse-back of every RDF file, the
  tables, SHACL), each choosing its engine.
"""
