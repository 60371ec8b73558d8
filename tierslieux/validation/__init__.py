"""Validation: every check a release passes before it is published, in one package.

- ``engine``: the one interface to the engines, ``validate_graph(..., engine="compiled" |
  "pyshacl")`` and ``validate_tables(..., engine="builtin" | "frictionless")``;
- ``report``: the report types (``Violation``, ``ValidationReport``; ``TableProblem``,
  ``TableReport``), whichever engine made them;
- ``shapes`` + ``shacl``: the fast engine, the shapes compiled to plain checks, streaming over
  a sorted dump subject by subject; ``reference``: pyshacl on one graph, the reference the fast
  engine is tested against and the fallback for shapes it cannot run (``Unsupported``);
- ``tables``: the Table Schema checks of ``datapackage.json`` made streaming, the same checks
  frictionless (the reference) makes, for tables too big for it;
- ``release``: the validators a staged release must pass (parse-back of every RDF file, the
  tables, SHACL), each choosing its engine.
"""
