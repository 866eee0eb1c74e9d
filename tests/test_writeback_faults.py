"""Under injected faults the CRM converges to the warehouse, nothing is duplicated or lost, and
`writeback.sync_state` never claims a value the CRM does not hold."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from healthscore.crm.hubspot_client import HubSpotClient, HubSpotSettings
from healthscore.crm.rate_limit import RollingWindowLimiter, Unlimited, client_budget
from healthscore.crm.retry import RetryPolicy
from healthscore.writeback import ensure_properties, run_sync
from tests.fakes import FakeHubSpot
from tests.fakes.sync_models import (
    HealthRow,
    hubspot_crm_values,
    hubspot_expected,
    query,
    rescored,
    sample_rows,
    state_values,
    write_model,
)

FAST = RetryPolicy(backoff_base=0.01, backoff_max=0.05, rate_limit_backoff=0.01)
BATCH_UPDATE = r"/batch/update$"
PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def hubspot():
    with FakeHubSpot() as server:
        yield server


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse.duckdb"


def make_client(server: FakeHubSpot, **options) -> HubSpotClient:
    settings = HubSpotSettings(base_url=server.url, access_token=server.token)
    client = HubSpotClient(settings, **{"policy": FAST, **options})
    assert ensure_properties("hubspot", client=client).ok
    return client


def seed(server: FakeHubSpot, warehouse: Path, count: int) -> list[HealthRow]:
    ids = [server.add("companies", name=f"Company {i}") for i in range(count)]
    rows = sample_rows(ids)
    write_model(warehouse, "hubspot", rows)
    return rows


def assert_state_is_confirmed(server: FakeHubSpot, warehouse: Path) -> None:
    """Every value state claims is one the CRM actually held.

    The CRM may since hold a newer value whose write was applied but never confirmed (a lost
    answer); state then keeps the older confirmed value and the next run resends.
    """
    server.log.wait_idle()
    for record_id, values in state_values(warehouse, "hubspot").items():
        held = [{n: v.get(n) or "" for n in values} for v in server.history("companies", record_id)]
        assert values in held, record_id


def assert_converged(
    server: FakeHubSpot, warehouse: Path, rows: list[HealthRow], *, resent_ok: bool = False
) -> None:
    """CRM == warehouse == state; unless `resent_ok`, no confirmed value was ever sent again.

    `resent_ok` is for runs where a write was applied without its answer arriving and the
    warehouse then went back to the confirmed value: resending that value is the repair.
    """
    server.log.wait_idle()
    for row in rows:
        assert hubspot_crm_values(server, row.record_id) == hubspot_expected(row)
    assert state_values(warehouse, "hubspot") == {
        row.record_id: hubspot_expected(row) for row in rows
    }
    repeats = query(
        warehouse,
        "select count(*) from (select record_id, field_values from writeback.publish_log "
        "group by all having count(*) > 1)",
    )
    assert resent_ok or repeats == [(0,)], "a confirmed value was sent again"


def test_429_storm_without_retry_after_is_ridden_out(hubspot, warehouse):
    client = make_client(hubspot)
    rows = seed(hubspot, warehouse, 250)
    hubspot.fail_next(429, times=6)

    report = run_sync("hubspot", warehouse, client=client)

    assert report.status == "ok"
    assert (report.rate_limited, report.api_calls) == (6, 3 + 6)
    assert hubspot.faults.pending == 0
    assert_converged(hubspot, warehouse, rows)


def test_retry_after_is_honoured(hubspot, warehouse):
    client = make_client(hubspot)
    rows = seed(hubspot, warehouse, 10)
    hubspot.fail_next(429, retry_after=1)

    run_sync("hubspot", warehouse, client=client)

    first, second = (hit.at for hit in hubspot.log.hits if hit.path.endswith("/batch/update"))
    assert 1.0 <= second - first < 1.5  # FAST would have waited 0.05 s without the header
    assert_converged(hubspot, warehouse, rows)


def test_a_retry_after_beyond_reason_stops_the_run_without_waiting(hubspot, warehouse):
    client = make_client(hubspot)
    seed(hubspot, warehouse, 10)
    hubspot.fail_next(429, retry_after=3600)
    started = time.monotonic()

    report = run_sync("hubspot", warehouse, client=client)

    assert report.status == "aborted" and "Retry-After" in report.message
    assert time.monotonic() - started < 2
    assert state_values(warehouse, "hubspot") == {}


def test_server_errors_and_html_gateway_pages_are_retried(hubspot, warehouse):
    client = make_client(hubspot)
    rows = seed(hubspot, warehouse, 250)
    for status in (500, 502, 503, 504):
        hubspot.fail_next(status)

    report = run_sync("hubspot", warehouse, client=client)

    assert (report.status, report.retries, report.api_calls) == ("ok", 4, 7)
    assert hubspot.faults.pending == 0
    assert_converged(hubspot, warehouse, rows)


def test_timeouts_are_retried_and_late_writes_are_harmless(hubspot, warehouse):
    client = make_client(hubspot, timeout=(1.0, 0.3))
    rows = seed(hubspot, warehouse, 200)
    hubspot.delay_next(0.6)  # processed after the client gave up
    hubspot.delay_next(0.6, after_apply=True, skip=1)  # processed, answer too late

    report = run_sync("hubspot", warehouse, client=client)

    assert (report.status, report.retries) == ("ok", 2)
    assert hubspot.faults.pending == 0
    assert_converged(hubspot, warehouse, rows)


def test_dropped_connections_are_resent_without_duplicating(hubspot, warehouse):
    client = make_client(hubspot)
    rows = seed(hubspot, warehouse, 300)
    hubspot.drop_next(after_apply=True)
    hubspot.drop_next(after_apply=False, skip=2)

    report = run_sync("hubspot", warehouse, client=client)

    assert (report.status, report.confirmed, report.retries) == ("ok", 300, 2)
    assert hubspot.faults.pending == 0
    assert_converged(hubspot, warehouse, rows)


def test_207_partial_failures_are_retried_next_run(hubspot, warehouse):
    client = make_client(hubspot)
    rows = seed(hubspot, warehouse, 250)
    hubspot.partial_next(7, skip=1)

    first = run_sync("hubspot", warehouse, client=client)

    assert (first.status, first.confirmed, first.failed) == ("partial", 243, 7)
    assert {f["category"] for f in first.failures} == {"CONFLICT"}
    assert_state_is_confirmed(hubspot, warehouse)
    hubspot.log.clear()

    second = run_sync("hubspot", warehouse, client=client)

    assert (second.changed, second.confirmed, second.api_calls) == (7, 7, 1)
    assert_converged(hubspot, warehouse, rows)


def test_exhausted_retries_stop_the_run_and_keep_what_was_confirmed(hubspot, warehouse):
    client = make_client(hubspot, policy=RetryPolicy(max_attempts=3, backoff_base=0.01))
    rows = seed(hubspot, warehouse, 350)
    hubspot.fail_next(500, times=3, skip=1)  # the second batch fails three times

    first = run_sync("hubspot", warehouse, client=client)

    assert first.status == "aborted" and "gave up after 3 tries" in first.message
    assert (first.confirmed, first.failed, first.api_calls) == (100, 100, 4)
    assert len(state_values(warehouse, "hubspot")) == 100
    assert_state_is_confirmed(hubspot, warehouse)

    second = run_sync("hubspot", warehouse, client=client)

    assert (second.changed, second.confirmed, second.api_calls) == (250, 250, 3)
    assert_converged(hubspot, warehouse, rows)


def test_the_daily_limit_stops_the_run(warehouse):
    with FakeHubSpot(daily_limit=13) as hubspot:  # 11 set-up calls, then one batch
        client = make_client(hubspot)
        seed(hubspot, warehouse, 300)

        report = run_sync("hubspot", warehouse, client=client)

        assert report.status == "aborted" and "daily" in report.message
        assert (report.confirmed, report.api_calls) == (200, 3)


def random_faults(server: FakeHubSpot, rng: random.Random) -> None:
    for _ in range(4):
        skip = rng.randint(0, 3)
        kind = rng.choice(["429", "5xx", "drop", "delay", "partial"])
        if kind == "429":
            server.fail_next(429, retry_after=rng.choice([None, 0.05]), skip=skip)
        elif kind == "5xx":
            server.fail_next(rng.choice([500, 502, 503, 504]), skip=skip)
        elif kind == "drop":
            server.drop_next(after_apply=rng.random() < 0.5, skip=skip)
        elif kind == "delay":
            server.delay_next(0.4, after_apply=rng.random() < 0.5, skip=skip)
        else:
            server.partial_next(rng.randint(1, 20), skip=skip)


def test_under_random_faults_state_never_claims_an_unconfirmed_value(hubspot, warehouse):
    policy = RetryPolicy(
        max_attempts=3,
        max_rate_limited=4,
        backoff_base=0.01,
        backoff_max=0.02,
        rate_limit_backoff=0.01,
    )
    client = make_client(hubspot, policy=policy, timeout=(1.0, 0.25))
    rows = seed(hubspot, warehouse, 250)
    rng = random.Random(20240501)
    outcomes = set()
    for run in range(5):
        if run:
            rows = [rescored(r, rng.choice((1, 2))) if rng.random() < 0.3 else r for r in rows]
            write_model(warehouse, "hubspot", rows)
        random_faults(hubspot, rng)
        outcomes.add(run_sync("hubspot", warehouse, client=client, force=True).status)
        assert_state_is_confirmed(hubspot, warehouse)
    hubspot.faults.clear()

    final = run_sync("hubspot", warehouse, client=client, force=True)

    assert final.status == "ok"
    assert {"partial", "aborted"} & outcomes  # the faults did bite
    assert_converged(hubspot, warehouse, rows, resent_ok=True)


def test_a_process_killed_mid_sync_loses_and_duplicates_nothing(hubspot, warehouse):
    client = make_client(hubspot)
    rows = seed(hubspot, warehouse, 500)
    hubspot.delay_next(60, after_apply=True, skip=2)  # batch 3 is applied, then hangs
    env = {
        **os.environ,
        "HUBSPOT_ACCESS_TOKEN": hubspot.token,
        "HUBSPOT_BASE_URL": hubspot.url,
    }
    script = (
        "import sys, pathlib, healthscore.writeback as w; "
        "w.run_sync('hubspot', pathlib.Path(sys.argv[1]))"
    )
    sync = subprocess.Popen([sys.executable, "-c", script, str(warehouse)], env=env, cwd=PROJECT)
    try:
        hubspot.log.wait_for(3, "POST", BATCH_UPDATE, timeout=30)
        deadline = time.monotonic() + 10
        while len(state_values(warehouse, "hubspot")) < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sync.kill()
        sync.wait()
    third_batch = rows[200:300]
    assert all(hubspot_crm_values(hubspot, r.record_id) == hubspot_expected(r) for r in third_batch)
    assert len(state_values(warehouse, "hubspot")) == 200  # applied, but never confirmed
    hubspot.release_delays()
    assert_state_is_confirmed(hubspot, warehouse)

    rerun = run_sync("hubspot", warehouse, client=client)

    assert (rerun.changed, rerun.confirmed, rerun.api_calls) == (300, 300, 3)
    assert_converged(hubspot, warehouse, rows)


def test_paced_client_never_trips_the_portal_limit():
    """At a portal limit of 10 requests per second, unpaced calls get 429s; paced ones none."""
    with FakeHubSpot(rate_limit=10, window_seconds=1.0) as hubspot:
        company = hubspot.add("companies", name="Acme")
        inputs = [[(company, {"name": f"Acme {i}"})] for i in range(14)]
        settings = HubSpotSettings(base_url=hubspot.url, access_token=hubspot.token)

        unpaced = HubSpotClient(settings, policy=FAST, limiter=Unlimited())
        for batch in inputs:
            assert unpaced.update_companies(batch).confirmed == {company}
        assert hubspot.log.rate_limited > 0

        time.sleep(1.0)  # the window empties
        hubspot.log.clear()
        limiter = RollingWindowLimiter(client_budget(10), window=1.0)
        paced = HubSpotClient(settings, policy=FAST, limiter=limiter)
        for batch in inputs:
            assert paced.update_companies(batch).confirmed == {company}
        assert hubspot.log.rate_limited == 0
        assert hubspot.log.max_in_window(1.0) <= 10


def test_rolling_window_limiter_waits_for_the_oldest_slot():
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RollingWindowLimiter(3, 10.0, clock=lambda: now[0], sleep=sleep)
    for moment in (0.0, 1.0, 2.0):
        now[0] = moment
        assert limiter.acquire() == 0
    now[0] = 4.0
    assert limiter.acquire() == pytest.approx(6.0)  # until the first slot (t=0) leaves
    assert waits == [pytest.approx(6.0)]
    assert (client_budget(100), client_budget(190), client_budget(2)) == (90, 171, 1)
