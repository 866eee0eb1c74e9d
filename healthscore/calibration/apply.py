"""Make a reviewed proposal the live configuration by copying it into the dbt seeds.

The seeds' config_version column carries the proposal's version into every score dbt computes,
so each published score names the configuration that produced it. Rebuilding (dbt seed + build)
is the caller's step."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from healthscore import settings
from healthscore.calibration.proposal import (
    METRICS_FILE,
    VERSION_PATTERN,
    proposals_root,
    read_metrics,
)
from healthscore.calibration.seeds import (
    PROPOSAL_FILES,
    SEED_FILES,
    folder_hash,
    read_config,
    write_config,
)

APPLIED_LOG = "applied.jsonl"


class ProposalError(RuntimeError):
    """A proposal that cannot be applied as it stands."""


class UnsupportedProposalError(ProposalError):
    """The proposal's own guardrails said the data does not support it."""


@dataclass(frozen=True)
class AppliedConfig:
    version: str
    supported: bool
    overridden: bool  # applied although its guardrails failed
    seed_files: list[Path]
    applied_at: str


def apply_proposal(
    version: str,
    *,
    allow_unsupported: bool = False,
    proposals_dir: Path | None = None,
    seeds_dir: Path | None = None,
) -> AppliedConfig:
    if not VERSION_PATTERN.match(version):
        raise ProposalError(
            f"{version!r} is not a proposal version (like 20250131T120000Z-1a2b3c4d)"
        )
    root = proposals_root(proposals_dir)
    folder = root / version
    if not (folder / METRICS_FILE).is_file():
        raise ProposalError(f"no complete proposal {version} under {root}")
    if folder_hash(folder, PROPOSAL_FILES) != version.rsplit("-", 1)[1]:
        raise ProposalError(
            f"proposal {version} was edited after it was made; run `healthscore calibrate` again"
        )
    metrics = read_metrics(folder)
    supported = bool(metrics["supported"])
    if not supported and not allow_unsupported:
        raise UnsupportedProposalError(
            f"proposal {version} is not supported by the data, so it is not applied. "
            f"{metrics['verdict']} To apply it anyway, override explicitly."
        )
    config = read_config(folder, PROPOSAL_FILES)
    written = write_config(
        config, Path(seeds_dir or settings.DBT_PROJECT_DIR / "seeds"), SEED_FILES, version
    )
    applied = AppliedConfig(
        version=version,
        supported=supported,
        overridden=not supported,
        seed_files=written,
        applied_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    record = {
        "version": version,
        "applied_at": applied.applied_at,
        "supported": supported,
        "overridden": applied.overridden,
        "seeds": [str(p) for p in written],
    }
    with (root / APPLIED_LOG).open("a") as log:
        log.write(json.dumps(record) + "\n")
    return applied
