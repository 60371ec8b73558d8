"""Harvest a DCAT catalogue with udata, the software of data.gouv.fr, and print what it saved.

Run by tests/test_udata.py in udata's own virtual environment (``.venv-udata``, made by
``scripts/install-test-servers.sh``):

    .venv-udata/bin/python tests/udata_harvest.py http://127.0.0.1:PORT/catalog.ttl

It runs udata's real DCAT harvester (``udata.harvest.backends.dcat.DcatBackend``, through
``udata.harvest.actions.run``) with MongoEngine on mongomock (no MongoDB server) and a licence
table seeded with data.gouv.fr's own rows (ids, titles, addresses as its API lists them), then
prints one JSON object on stdout: the harvest job (status, errors, items) and every dataset
saved, with its resources. Nothing here interprets the catalogue: that is udata's job.
"""

from __future__ import annotations

import json
import sys

import mongomock
from udata import settings
from udata.app import create_app

#: data.gouv.fr's licence table (GET /api/1/datasets/licenses/): the rows a DCAT harvest can
#: match, with their ids, titles and addresses
LICENCES = [
    {"id": "notspecified", "title": "License Not Specified", "url": None,
     "flags": ["generic"]},
    {"id": "cc-by", "title": "Creative Commons Attribution",
     "url": "http://www.opendefinition.org/licenses/cc-by"},
    {"id": "cc-by-sa", "title": "Creative Commons Attribution Share-Alike",
     "url": "http://www.opendefinition.org/licenses/cc-by-sa"},
    {"id": "cc-zero", "title": "Creative Commons CCZero",
     "url": "http://www.opendefinition.org/licenses/cc-zero"},
    {"id": "fr-lo", "title": "Licence Ouverte / Open Licence",
     "url": "https://www.etalab.gouv.fr/wp-content/uploads/2014/05/Licence_Ouverte.pdf",
     "alternate_titles": ["LO/OL"],
     "alternate_urls": ["https://www.etalab.gouv.fr/wp-content/uploads/2014/05/Open_Licence.pdf"]},
    {"id": "lov2", "title": "Licence Ouverte / Open Licence version 2.0",
     "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
     "alternate_titles": ["License Etalab", "Licence Ouverte v2.0", "etalab-2.0"],
     "alternate_urls": [
         "https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf",
         "https://github.com/etalab/Licence-Ouverte/blob/master/LO.md"]},
    {"id": "odc-by", "title": "Open Data Commons Attribution License",
     "url": "http://opendatacommons.org/licenses/by/summary/"},
    {"id": "odc-odbl", "title": "Open Data Commons Open Database License (ODbL)",
     "url": "http://opendatacommons.org/licenses/odbl/summary/",
     "alternate_titles": ["Open Database License (ODbL) 1.0",
                          "Open Data Commons Open Database License 1.0",
                          "Open Database License"],
     "alternate_urls": ["https://opendefinition.org/licenses/odc-odbl"]},
    {"id": "odc-pddl",
     "title": "Open Data Commons Public Domain Dedication and Licence (PDDL)",
     "url": "http://opendatacommons.org/licenses/pddl/summary/"},
    {"id": "other-at", "title": "Other (Attribution)", "url": None, "flags": ["generic"]},
    {"id": "other-open", "title": "Other (Open)", "url": None, "flags": ["generic"]},
    {"id": "other-pd", "title": "Other (Public Domain)", "url": None, "flags": ["generic"]},
]


class HarvestSettings(settings.Testing):
    """udata's test settings, on mongomock, with the DCAT backend and French as default."""

    MONGODB_HOST = "mongodb://localhost:27017/udata"
    MONGODB_SETTINGS = {"host": "mongodb://localhost:27017/udata",
                        "mongo_client_class": mongomock.MongoClient}
    HARVESTER_BACKENDS = ["dcat"]
    URLS_ALLOW_LOCAL = True      # the catalogue is served on 127.0.0.1
    URLS_ALLOW_PRIVATE = True
    URLS_RESOLVE_HOSTNAME = False
    DEFAULT_LANGUAGE = "fr"      # data.gouv.fr's
    SERVER_NAME = "udata.test"


def main(url: str) -> dict:
    app = create_app(settings.Defaults, override=HarvestSettings)
    with app.app_context():
        from udata.core.dataset.models import Dataset, License
        from udata.core.organization.models import Organization
        from udata.harvest import actions
        from udata.harvest.models import HarvestSource

        for row in LICENCES:
            License.objects.create(
                id=row["id"], title=row["title"], url=row["url"],
                alternate_titles=row.get("alternate_titles", []),
                alternate_urls=row.get("alternate_urls", []),
                flags=row.get("flags", []), active=True)
        organisation = Organization.objects.create(name="Movilab", description="Movilab")
        source = HarvestSource.objects.create(
            name="tierslieux", url=url, backend="dcat", organization=organisation)
        actions.run(source)
        source.reload()
        job = source.get_last_job()
        return {
            "job": {
                "status": job.status,
                "errors": [error.message for error in job.errors],
                "items": [{"remote_id": item.remote_id, "status": item.status,
                           "errors": [error.message for error in item.errors]}
                          for item in job.items],
            },
            "datasets": [_dataset(dataset) for dataset in Dataset.objects],
        }


def _dataset(dataset) -> dict:
    return {
        "title": dataset.title,
        "description": dataset.description,
        "license": dataset.license.id if dataset.license else None,
        "frequency": str(dataset.frequency.value) if dataset.frequency else None,
        "temporal": [str(dataset.temporal_coverage.start), str(dataset.temporal_coverage.end)]
        if dataset.temporal_coverage else None,
        "contact_points": [{"name": c.name, "email": c.email, "role": c.role}
                           for c in dataset.contact_points],
        "tags": list(dataset.tags),
        "remote_id": dataset.harvest.remote_id if dataset.harvest else None,
        "remote_url": dataset.harvest.remote_url if dataset.harvest else None,
        "resources": [{
            "title": resource.title,
            "url": resource.url,
            "format": resource.format,
            "mime": resource.mime,
            "filesize": resource.filesize,
            "checksum": {"type": resource.checksum.type, "value": resource.checksum.value}
            if resource.checksum else None,
        } for resource in dataset.resources],
    }


if __name__ == "__main__":
    json.dump(main(sys.argv[1]), sys.stdout, ensure_ascii=False, indent=1, default=str)
    sys.stdout.write("\n")
