"""Risk alerts that say why: Slack messages and CRM tasks through an outbox (DESIGN §9)."""

from healthscore.alerts.delivery import DeliveryReport, deliver_pending
from healthscore.alerts.messages import render_message
from healthscore.alerts.storm_guard import discard_held, held_runs, release_held

__all__ = [
    "DeliveryReport",
    "deliver_pending",
    "discard_held",
    "held_runs",
    "release_held",
    "render_message",
]
