"""The per-record outcome of a batch write, the same shape for HubSpot and Salesforce.

Both CRMs can accept part of a batch: HubSpot answers 207 with an `errors` list naming ids,
Salesforce answers 200 with one SaveResult per record. The engine only needs to know, per
record id, whether the CRM confirmed it and, if not, whether the record is gone for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RowError:
    category: str
    message: str
    missing: bool = False  # the CRM says the record is deleted, archived or unknown


UNCONFIRMED = RowError("UNCONFIRMED", "the CRM returned no result for this record")


@dataclass
class BatchResult:
    confirmed: set[str] = field(default_factory=set)
    errors: dict[str, RowError] = field(default_factory=dict)

    @classmethod
    def settle(
        cls, sent_ids: list[str], confirmed: set[str], errors: dict[str, RowError]
    ) -> BatchResult:
        """Account for every id sent: an id the CRM neither confirmed nor rejected is unconfirmed.

        An id listed both as a result and as an error is treated as not confirmed, so the state
        table can never claim a value the CRM did not accept.
        """
        settled = {rid: errors[rid] for rid in sent_ids if rid in errors}
        for rid in sent_ids:
            if rid not in confirmed and rid not in settled:
                settled[rid] = UNCONFIRMED
        return cls(confirmed={rid for rid in sent_ids if rid not in settled}, errors=settled)
