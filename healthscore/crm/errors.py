"""What can go wrong when talking to a CRM, in terms a caller can act on.

hubspot-api-client raises one `ApiException` class per API package, simple-salesforce maps
status codes to `SalesforceError` subclasses, and urllib3/requests raise transport errors
underneath both. The retry layer translates all of them into these few classes, so callers
decide on meaning rather than on library types. Messages are built from the CRM's error body
(category and message), never from request headers, so they cannot carry a token.
"""

from __future__ import annotations


class CrmError(Exception):
    """Base class for every CRM failure the clients report."""


class RequestRejected(CrmError):
    """The CRM refused the request (4xx): sending it again unchanged cannot succeed.

    `per_record` means the refusal is about some record's values (HubSpot rejects a whole
    batch for one invalid option), so sending the records in smaller batches isolates them;
    otherwise it is about the request itself (an unknown property, a missing scope) and every
    batch will fail the same way.
    """

    def __init__(
        self, message: str, *, status: int, category: str = "", per_record: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.per_record = per_record


class AuthenticationFailed(RequestRejected):
    """401/403: every further request fails until the credentials or scopes are fixed."""


class LimitExhausted(CrmError):
    """A daily/org-wide API limit is used up, or the CRM asks us to wait longer than we will."""


class RetriesExhausted(CrmError):
    """Transient failures (429, 5xx, timeouts) outlasted the retry budget."""


class UnknownOutcome(CrmError):
    """A non-idempotent write may or may not have been applied.

    Raised instead of retrying a create after a timeout, a dropped connection or a 5xx: the
    caller must look the object up by its own key (the alert id) before sending it again.
    """
