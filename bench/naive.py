"""The naive reference pipeline the benchmark compares the build with.

What a first version of the tool would do: parse every page with mwparserfromhell's default
options, map it with the project's own mapping logic (so that both pipelines make the same
triples), add every triple to one rdflib ``Graph`` with ``add()``, and write the graph with
rdflib's Turtle and JSON-LD serializers (JSON-LD compacted with the project's context). It
writes no N-Triples, CSV or catalogue and validates nothing: the comparison favours it.

    python bench/naive.py STORE OUT_DIR
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.util import from_n3

from tierslieux.ontology import load_context, load_mapping
from tierslieux.pipeline import parse as parse_module
from tierslieux.pipeline.map import Mapper, PageJob
from tierslieux.pipeline.store import Store


def run(store_path: str | Path, out_dir: str | Path) -> dict:
    """Build the naive release; returns its figures (seconds per stage, triples, pages)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    timings = {"parse": 0.0, "map": 0.0, "graph_add": 0.0}
    graph = Graph()
    context = load_context()["@context"]
    for name, value in context.items():
        if isinstance(value, str) and value.endswith(("#", "/")):
            graph.bind(name, value)
    started = time.perf_counter()
    pages = 0
    with Store(store_path, create=False) as store:
        mapper = Mapper(load_mapping(), store.site_info, "https://w3id.org/tierslieux/movilab/")
        for page in store.pages():
            t0 = time.perf_counter()
            try:
                parsed = parse_module.parse_page(page, style_tags=True)
            except Exception:  # noqa: BLE001 - like the build: a page that fails is skipped
                continue
            t1 = time.perf_counter()
            job = PageJob(mapper, parsed)
            job.run()
            # the project's map stage emits plain strings (pipeline/map_terms.py); a naive
            # pipeline holds rdflib terms, made here and counted as mapping
            triples = [(URIRef(s), URIRef(p), from_n3(o) if o[0] == '"' else URIRef(o))
                       for s, p, o in job.triples]
            t2 = time.perf_counter()
            for triple in triples:
                graph.add(triple)
            t3 = time.perf_counter()
            timings["parse"] += t1 - t0
            timings["map"] += t2 - t1
            timings["graph_add"] += t3 - t2
            pages += 1
    t0 = time.perf_counter()
    graph.serialize(destination=str(out_dir / "naive.ttl"), format="turtle")
    t1 = time.perf_counter()
    graph.serialize(destination=str(out_dir / "naive.jsonld"), format="json-ld",
                    context=context)
    t2 = time.perf_counter()
    timings["turtle"] = t1 - t0
    timings["jsonld"] = t2 - t1
    return {"pages": pages, "triples": len(graph), "seconds": time.perf_counter() - started,
            "stages": {k: round(v, 2) for k, v in timings.items()}}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], sys.argv[2])))
