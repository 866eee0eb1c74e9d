"""Local stand-ins for the CRMs, faithful enough to test real client libraries against.

- `FakeHubSpot` (`tests.fakes.hubspot_server`): a HubSpot portal speaking CRM v3 — objects,
  batch read/create/update/archive, search with paging, properties, property groups, tasks with
  associations — with the portal's rolling rate limit and `X-HubSpot-RateLimit-*` headers.
- `FakeSalesforce` (`tests.fakes.salesforce_server`): a Salesforce org speaking REST —
  sObject collections, sObjects, describe, a SOQL subset — with the daily API limit.
- `FakeZendesk` (`tests.fakes.zendesk_server`): a Zendesk Support account — the cursor-based
  incremental ticket export, organizations, satisfaction ratings, ticket fields.

Both run on 127.0.0.1 on a random port, start and stop as context managers, keep their data
in memory (with direct accessors for assertions, and per-object write history on HubSpot),
log every request with its arrival time (`log.count`, `log.max_in_window`,
`log.rate_limited`, `log.wait_for`, `log.wait_idle`), and take scripted faults (`fail_next`,
`delay_next`, `drop_next`, `partial_next`, each with `times`, `skip`, `method`, `path`;
`release_delays` ends held requests); see `tests.fakes.server` for the shared machinery.
`tests.fakes.sync_models` builds the write-back's input tables for tests and the bench.
"""

from tests.fakes.hubspot_server import FakeHubSpot
from tests.fakes.salesforce_server import FakeSalesforce
from tests.fakes.zendesk_server import FakeZendesk

__all__ = ["FakeHubSpot", "FakeSalesforce", "FakeZendesk"]
