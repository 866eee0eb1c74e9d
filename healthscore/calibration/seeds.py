"""The three configuration seeds that calibration reads and writes (DESIGN §6), in one place.

A proposal folder holds the same tables as the seeds, so applying one is a copy: nothing is
re-interpreted between the review and the live configuration.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd

# The gate signal caps the score instead of weighting it (DESIGN §6); its name is contract.
GATE_SIGNAL = "core_feature_adopted"
BAND_FIELDS = ("red_below", "red_exit_at", "green_at", "min_coverage", "gate_cap")
PROBABILITY_FIELDS = ("segment", "score_lower", "score_upper", "churn_probability")


class ConfigFiles(NamedTuple):
    weights: str
    bands: str
    probability: str


SEED_FILES = ConfigFiles("signal_weights.csv", "status_bands.csv", "churn_calibration.csv")
PROPOSAL_FILES = ConfigFiles("weights.csv", "bands.csv", "churn_calibration.csv")


@dataclass(frozen=True)
class ScoreConfig:
    """One scoring configuration.

    weights: segment by signal (each row sums to 100); bands: segment by BAND_FIELDS;
    probability: long table of PROBABILITY_FIELDS, empty before the first calibration.
    """

    weights: pd.DataFrame
    bands: pd.DataFrame
    probability: pd.DataFrame
    version: str = ""


def read_config(folder: Path, files: ConfigFiles = SEED_FILES) -> ScoreConfig:
    """Read one configuration; the seeds hold exactly one version, the live one."""
    weights_long = pd.read_csv(folder / files.weights)
    bands = pd.read_csv(folder / files.bands)
    probability = pd.read_csv(folder / files.probability)
    versions = set(weights_long["config_version"]) | set(bands["config_version"])
    if len(versions) != 1:
        raise ValueError(f"{folder} holds config versions {sorted(versions)}; expected one")
    weights = weights_long.pivot(index="segment", columns="signal", values="weight")
    weights = weights.reindex(
        index=pd.unique(weights_long["segment"]), columns=pd.unique(weights_long["signal"])
    ).fillna(0.0)
    bands = bands.set_index("segment")[list(BAND_FIELDS)].astype(float)
    missing = set(weights.index) - set(bands.index)
    if missing:
        raise ValueError(f"{folder / files.bands} has no bands for segments {sorted(missing)}")
    return ScoreConfig(
        weights=weights.astype(float),
        bands=bands,
        probability=probability[list(PROBABILITY_FIELDS)],
        version=str(versions.pop()),
    )


def _tables(config: ScoreConfig, version: str) -> ConfigFiles:
    weights = config.weights.rename_axis(index="segment", columns="signal").stack()
    weights = weights.rename("weight").reset_index()
    bands = config.bands.rename_axis("segment").reset_index()
    tables = [weights, bands, config.probability[list(PROBABILITY_FIELDS)]]
    return ConfigFiles(*(t.assign(config_version=version)[_ordered(t)] for t in tables))


def _ordered(table: pd.DataFrame) -> list[str]:
    return ["config_version", *[c for c in table.columns if c != "config_version"]]


def _csv_texts(config: ScoreConfig, version: str) -> ConfigFiles:
    return ConfigFiles(
        *(t.to_csv(index=False, lineterminator="\n") for t in _tables(config, version))
    )


def _digest(texts: ConfigFiles) -> str:
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()[:8]


def content_hash(config: ScoreConfig) -> str:
    """Hash of what the configuration does, blind to its version label."""
    return _digest(_csv_texts(config, ""))


def folder_hash(folder: Path, files: ConfigFiles) -> str:
    """The `content_hash` of a written configuration, so an edit after review is detectable."""
    texts = []
    for name in files:
        table = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        texts.append(table.assign(config_version="").to_csv(index=False, lineterminator="\n"))
    return _digest(ConfigFiles(*texts))


def write_config(config: ScoreConfig, folder: Path, files: ConfigFiles, version: str) -> list[Path]:
    """Write every table to a temporary file first, then swap them in, so a failure half-way
    never leaves a live configuration mixing two versions' files."""
    folder.mkdir(parents=True, exist_ok=True)
    staged = []
    for name, text in zip(files, _csv_texts(config, version), strict=True):
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text)
        staged.append((tmp, folder / name))
    for tmp, target in staged:
        os.replace(tmp, target)
    return [target for _, target in staged]
