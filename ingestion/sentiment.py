"""Ticket sentiment where the support tool gives none (DESIGN §5, ticket_sentiment).

VADER scores text with a packaged lexicon and rules: no model to download, and fast enough to
score every new ticket inside the pipeline. Its compound score is already in -1..1, the range of
the contract's `sentiment`. Callers score a ticket once, when it first arrives without a
sentiment, and keep that value when the ticket changes later (see `zendesk_source`).
"""

from __future__ import annotations

from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


@cache
def _analyser() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()  # reads its lexicon file once per process


def ticket_sentiment(subject: str | None, body: str | None) -> float | None:
    """Compound sentiment of subject and body together; None when both are blank."""
    text = "\n".join(part for part in (subject, body) if part and part.strip())
    if not text:
        return None
    return round(_analyser().polarity_scores(text)["compound"], 4)
