"""One generated dataset delivered three ways scores alike (issue 6).

The dataset (fitted to what HubSpot and Zendesk can hold, `tests.fake_crm_delivery`) is loaded
through `sources.yml` configurations, each built by dbt:

- A: every entity from files;
- B: organisations, users and events from PostgreSQL (`tests.fake_product_db`); accounts,
  overrides, contracts and email events from the local HubSpot portal; tickets from the local
  Zendesk; features, NPS and meetings from files;
- C: a mix: accounts, users, contracts and meetings from HubSpot, the rest from files.

`fct_account_health_daily` must be the same row for row in all three, and a second run of B's
connectors must find nothing new.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from healthscore.dbt_runner import run_dbt
from ingestion.configured_sources import load_configured_sources
from ingestion.demo_data import generate
from ingestion.file_source import LoadReport
from ingestion.product_db_mapping import DEFAULT_URL_ENV
from tests import fake_crm_delivery as crm
from tests import fake_product_db as product_db
from tests.fakes.hubspot_server import FakeHubSpot
from tests.fakes.zendesk_server import FakeZendesk

END_DATE = date(2026, 6, 30)
FACT = "main.fct_account_health_daily"
B_HUBSPOT = ["accounts", "overrides", "contracts", "email_events"]
C_HUBSPOT = ["accounts", "users", "contracts", "meetings"]
BUILD = (  # the scores and the data tests on what they are built from
    "build",
    "--select",
    "+fct_account_health_daily",
    "--indirect-selection",
    "cautious",
    "--exclude",
    "test_type:unit",
)


@dataclass(frozen=True)
class Delivered:
    root: Path
    warehouses: dict[str, Path]
    configs: dict[str, Path]
    reports: dict[str, dict[str, LoadReport]]


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delivered]:
    root = tmp_path_factory.mktemp("equivalence")
    generation = generate(
        root / "demo", accounts=20, days=90, seed=11, end_date=END_DATE, dirt=False
    )
    source = crm.fit_for_crm(generation.source_dir, root / "fitted")
    with (
        product_db.scratch_database() as url,
        FakeHubSpot(rate_limit=None, search_per_second=None) as hub_b,
        FakeHubSpot(rate_limit=None, search_per_second=None) as hub_c,
        FakeZendesk() as zendesk,
        pytest.MonkeyPatch.context() as env,
    ):
        env.setenv(DEFAULT_URL_ENV, url)
        env.setenv("HUBSPOT_ACCESS_TOKEN", hub_b.token)
        env.setenv("ZENDESK_EMAIL", zendesk.email)
        env.setenv("ZENDESK_API_TOKEN", zendesk.token)
        product_db.write_dataset(url, source)
        crm.seed_hubspot(hub_b, source, B_HUBSPOT)
        crm.seed_hubspot(hub_c, source, C_HUBSPOT)
        field = crm.seed_zendesk(zendesk, source)
        files = {"enabled": True, "path": str(source)}
        configs = {
            "a": {"files": files},
            "b": {
                "product_db": product_db.example_section(),
                "files": files,
                "hubspot": crm.hubspot_section(hub_b.url, B_HUBSPOT),
                "zendesk": crm.zendesk_section(zendesk.url, field),
            },
            "c": {"files": files, "hubspot": crm.hubspot_section(hub_c.url, C_HUBSPOT)},
        }
        paths, warehouses, reports = {}, {}, {}
        for name, config in configs.items():
            paths[name] = root / name / "sources.yml"
            paths[name].parent.mkdir()
            paths[name].write_text(yaml.safe_dump(config))
            warehouses[name] = root / name / "warehouse.duckdb"
            reports[name] = _load(paths[name], warehouses[name])
            run_dbt(
                [*BUILD],
                warehouse=warehouses[name],
                target_path=root / name / "target",
                quiet=True,
            )
        reports["b again"] = _load(paths["b"], warehouses["b"])
        yield Delivered(root, warehouses, paths, reports)


def _load(config: Path, warehouse: Path) -> dict[str, LoadReport]:
    return load_configured_sources(
        warehouse, config_path=config, pipelines_dir=warehouse.parent / "dlt"
    )


def test_every_source_delivers_what_it_owns(delivered: Delivered) -> None:
    b, c = delivered.reports["b"], delivered.reports["c"]
    assert set(b) == {"product_db", "files", "hubspot", "zendesk"}
    assert _loaded(b["hubspot"]) == set(B_HUBSPOT)
    assert _loaded(b["zendesk"]) == {"tickets"}
    assert _loaded(b["product_db"]) == {"product_organizations", "users", "events"}
    assert _loaded(b["files"]) == {"features", "nps_responses", "meetings"}
    assert _loaded(c["hubspot"]) == set(C_HUBSPOT)
    planted = {"unknown_account_id": 1, "invalid_number": 1, "below_minimum": 1}  # by the fake
    assert b["product_db"].rows_quarantined["events"] == planted
    for name, report in [*b.items(), *c.items()]:
        rest = {
            e: q
            for e, q in report.rows_quarantined.items()
            if (name, e) != ("product_db", "events")
        }
        assert not any(rest.values()), (name, rest)


@pytest.mark.parametrize("other", ["b", "c"])
def test_every_delivery_scores_alike(delivered: Delivered, other: str) -> None:
    with duckdb.connect() as con:
        for name in ("a", other):
            con.execute(f"ATTACH '{delivered.warehouses[name]}' AS {name} (READ_ONLY)")
        rows, statuses = con.execute(
            f"SELECT count(*), count(DISTINCT health_status) FROM a.{FACT}"
        ).fetchone()
        only = [
            con.execute(
                f"SELECT count(*) FROM (SELECT * FROM {x}.{FACT} "
                f"EXCEPT ALL SELECT * FROM {y}.{FACT})"
            ).fetchone()[0]
            for x, y in (("a", other), (other, "a"))
        ]
    assert rows > 1_000 and statuses > 1
    assert only == [0, 0]


def test_a_second_run_finds_nothing_new(delivered: Delivered) -> None:
    """The incremental feeds (events by cursor, HubSpot by modification time, Zendesk by its
    export cursor) read nothing twice; the product database's organisations and members are
    snapshots, read whole every run."""
    again = delivered.reports["b again"]
    assert again["product_db"].rows_loaded.get("events", 0) == 0
    assert sum(again["hubspot"].rows_loaded.values()) == 0, again["hubspot"].rows_loaded
    assert sum(again["zendesk"].rows_loaded.values()) == 0, again["zendesk"].rows_loaded


def _loaded(report: LoadReport) -> set[str]:
    return {entity for entity, rows in report.rows_loaded.items() if rows > 0}
