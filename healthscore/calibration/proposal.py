"""A calibration proposal: one folder per version holding the configuration in seed format, the
figures behind it (metrics.json) and the report. Nothing in it is live until it is applied.

The version is the creation time plus a hash of the configuration, so two proposals with the
same name are the same configuration, and an edit after review is detectable."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from healthscore import settings
from healthscore.calibration.seeds import PROPOSAL_FILES, ScoreConfig, content_hash, write_config

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"
VERSION_PATTERN = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")


def proposals_root(out_dir: Path | None = None) -> Path:
    return Path(out_dir) if out_dir is not None else settings.data_dir() / "calibration"


def new_version(config: ScoreConfig, now: dt.datetime) -> str:
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{content_hash(config)}"


def jsonable(value):
    """Plain JSON values: numpy scalars and arrays unwrapped, NaN as null, dates as ISO text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp | dt.date):
        return value.isoformat()[:10]
    if value is pd.NaT:
        return None
    return value


def write_proposal(
    root: Path, version: str, config: ScoreConfig, metrics: dict, report_html: str
) -> Path:
    """metrics.json is written last: its presence marks a complete proposal."""
    folder = root / version
    write_config(config, folder, PROPOSAL_FILES, version)
    (folder / REPORT_FILE).write_text(report_html, encoding="utf-8")
    (folder / METRICS_FILE).write_text(json.dumps(jsonable(metrics), indent=2) + "\n")
    return folder


def read_metrics(folder: Path) -> dict:
    return json.loads((folder / METRICS_FILE).read_text())
