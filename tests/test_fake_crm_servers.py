"""The local CRM servers answer like the real services, for the endpoints other code relies on
(dlt's HubSpot source pages and searches companies; alert delivery searches tasks)."""

from __future__ import annotations

import time

import hubspot
import pytest
import requests
from hubspot.crm.companies import (
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectId,
)
from hubspot.crm.companies.exceptions import NotFoundException
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceRefusedRequest, SalesforceResourceNotFound

from tests.fakes import FakeHubSpot, FakeSalesforce


@pytest.fixture
def portal():
    with FakeHubSpot(search_per_second=None) as server:
        yield server


def api(server: FakeHubSpot, token: str | None = None) -> hubspot.Client:
    return hubspot.Client.create(access_token=token or server.token, host=server.url)


def test_companies_list_pages_with_after(portal):
    ids = [portal.add("companies", name=f"c{i}", domain=f"c{i}.example") for i in range(5)]
    companies = api(portal).crm.companies.basic_api

    seen, after = [], None
    while True:
        page = companies.get_page(limit=2, after=after, properties=["domain"])
        seen += [(c.id, c.properties["domain"]) for c in page.results]
        if not page.paging:
            break
        after = page.paging.next.after

    assert seen == [(i, f"c{n}.example") for n, i in enumerate(ids)]


def test_search_filters_sorts_and_pages_on_last_modified(portal):
    old = [portal.add("companies", name=f"old{i}") for i in range(3)]
    time.sleep(0.01)
    cutoff = int(time.time() * 1000)
    time.sleep(0.01)
    new = [portal.add("companies", name=f"new{i}") for i in range(3)]
    search = api(portal).crm.companies.search_api
    since = FilterGroup(
        filters=[Filter(property_name="hs_lastmodifieddate", operator="GTE", value=str(cutoff))]
    )

    by_name = [{"propertyName": "name", "direction": "DESCENDING"}]

    first = search.do_search(
        PublicObjectSearchRequest(
            filter_groups=[since], sorts=by_name, properties=["name"], limit=2
        )
    )
    rest = search.do_search(
        PublicObjectSearchRequest(
            filter_groups=[since],
            sorts=by_name,
            properties=["name"],
            limit=2,
            after=first.paging.next.after,
        )
    )

    assert first.total == 3 and [c.id for c in first.results] == new[::-1][:2]
    assert [c.properties["name"] for c in rest.results] == ["new0"] and rest.paging is None
    assert not set(old) & {c.id for c in first.results + rest.results}


def test_search_has_its_own_per_second_limit_and_an_index_lag():
    with FakeHubSpot(search_index_delay=0.3) as server:
        server.add("companies", name="fresh")
        url = f"{server.url}/crm/v3/objects/companies/search"
        headers = {"Authorization": f"Bearer {server.token}"}

        answers = [requests.post(url, json={}, headers=headers, timeout=5) for _ in range(6)]

        assert [a.status_code for a in answers] == [200] * 5 + [429]
        assert answers[0].json()["total"] == 0  # not indexed yet
        assert answers[5].json()["policyName"] == "SECONDLY"
        time.sleep(1.0)
        assert requests.post(url, json={}, headers=headers, timeout=5).json()["total"] == 1


def test_errors_and_headers_look_like_hubspot(portal):
    company = portal.add("companies", name="Acme")
    client = api(portal)

    with pytest.raises(NotFoundException) as missing:
        client.crm.companies.basic_api.get_by_id("999")
    read = client.crm.companies.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=company), SimplePublicObjectId(id="999")],
            properties=["name"],
        )
    )
    answer = requests.get(
        f"{portal.url}/crm/v3/objects/companies/{company}",
        headers={"Authorization": f"Bearer {portal.token}"},
        timeout=5,
    )
    refused = requests.get(f"{portal.url}/crm/v3/objects/companies", timeout=5)

    assert '"category": "OBJECT_NOT_FOUND"' in missing.value.body
    assert [c.id for c in read.results] == [company]
    assert (read.num_errors, read.errors[0].context) == (1, {"ids": ["999"]})
    assert answer.headers["X-HubSpot-RateLimit-Max"] == "100"
    assert int(answer.headers["X-HubSpot-RateLimit-Remaining"]) < 100
    assert answer.json()["properties"]["hs_object_id"] == company
    assert (refused.status_code, refused.json()["category"]) == (401, "INVALID_AUTHENTICATION")


@pytest.fixture
def org():
    with FakeSalesforce(daily_limit=8) as server:
        yield server


def salesforce(server: FakeSalesforce) -> Salesforce:
    sf = Salesforce(instance_url=server.url, session_id=server.token)
    sf.base_url = f"{server.url}/services/data/v{sf.sf_version}/"
    return sf


def test_soql_subset_and_record_endpoints(org):
    sf = salesforce(org)
    acme = org.add("Account", Name="Acme")
    globex = org.add("Account", Name="Globex")
    org.delete("Account", globex)

    found = sf.query("SELECT Id, Name FROM Account WHERE Name = 'Acme' ORDER BY Name DESC LIMIT 5")
    with pytest.raises(SalesforceResourceNotFound) as deleted:
        sf.restful(f"sobjects/Account/{globex}")

    assert [(r["Id"], r["Name"]) for r in found["records"]] == [(acme, "Acme")]
    assert deleted.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    assert sf.api_usage["api-usage"].used == 1  # read from the query's Sforce-Limit-Info


def test_all_or_none_rolls_back_and_the_daily_limit_refuses(org):
    sf = salesforce(org)
    acme = org.add("Account", Name="Acme")
    body = {
        "allOrNone": True,
        "records": [
            {"attributes": {"type": "Account"}, "id": acme, "Health_Status__c": "green"},
            {"attributes": {"type": "Account"}, "id": acme[:15], "Health_Status__c": "purple"},
        ],
    }

    results = sf.restful("composite/sobjects", method="PATCH", json=body)

    codes = [r["errors"][0]["statusCode"] for r in results]
    assert codes == ["ALL_OR_NONE_OPERATION_ROLLED_BACK", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"]
    assert "Health_Status__c" not in org.get("Account", acme)
    for _ in range(7):
        sf.restful("sobjects/Account/describe")
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.restful("sobjects/Account/describe")
    assert refused.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
