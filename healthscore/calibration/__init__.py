"""Calibration of health-score weights against renewal and churn outcomes (DESIGN §7).

`run_calibration` writes a versioned proposal (weights, cut-offs, churn probabilities, report);
`apply_proposal` makes a reviewed proposal the live configuration in the dbt seeds.
"""

from healthscore.calibration.apply import (
    AppliedConfig,
    ProposalError,
    UnsupportedProposalError,
    apply_proposal,
)
from healthscore.calibration.params import CalibrationParams
from healthscore.calibration.pipeline import run_calibration
from healthscore.calibration.record import CalibrationResult

__all__ = [
    "AppliedConfig",
    "CalibrationParams",
    "CalibrationResult",
    "ProposalError",
    "UnsupportedProposalError",
    "apply_proposal",
    "run_calibration",
]
