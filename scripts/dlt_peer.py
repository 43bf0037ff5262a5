"""The dlt peer for BENCHMARKS.md: dlt's REST API source paging the lightsync simulator by
version (after = version.max), merging on id into PostgreSQL. Usage:

    DLT_BASE_URL=http://127.0.0.1:9100/api/2.0 DLT_POSTGRES=postgres://postgres@127.0.0.1/db \
        python scripts/dlt_peer.py

Prints the wall time in seconds on the last line."""

import os
import sys
import time

import dlt
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from dlt.sources.rest_api import rest_api_source


class VersionPaginator(BasePaginator):
    """X-Series 2.0 paging: the next page starts after the previous page's max version."""

    def __init__(self):
        super().__init__()
        self.after = 0

    def init_request(self, request):
        request.params = dict(request.params or {}, after=self.after)

    def update_state(self, response, data=None):
        body = response.json()
        rows = body.get("data") or []
        if not rows:
            self._has_next_page = False
            return
        top = (body.get("version") or {}).get("max")
        self.after = top if top is not None else max(int(r["version"]) for r in rows)

    def update_request(self, request):
        request.params = dict(request.params or {}, after=self.after)


def main():
    base_url = os.environ["DLT_BASE_URL"]
    entities = ["outlets", "products", "customers", "inventory", "sales"]
    source = rest_api_source(
        {
            "client": {
                "base_url": base_url + "/",
                "auth": {"type": "bearer", "token": os.environ.get("DLT_TOKEN", "simulator")},
            },
            "resource_defaults": {
                "primary_key": "id",
                "write_disposition": "merge",
                "endpoint": {"data_selector": "data", "params": {"page_size": 1000}},
            },
            "resources": [
                {"name": name, "endpoint": {"path": name, "paginator": VersionPaginator()}}
                for name in entities
            ],
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name="lightsync_peer",
        destination=dlt.destinations.postgres(os.environ["DLT_POSTGRES"]),
        dataset_name="dlt_peer",
        pipelines_dir=os.environ.get("DLT_PIPELINES_DIR", "/tmp/dlt-pipelines"),
    )
    started = time.monotonic()
    info = pipeline.run(source)
    elapsed = time.monotonic() - started
    print(info, file=sys.stderr)
    print(f"{elapsed:.2f}")


if __name__ == "__main__":
    main()
