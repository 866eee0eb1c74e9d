"""The `healthscore` command line: help, source checks and loads as a person runs them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from healthscore import settings
from healthscore.cli import main
from tests.conftest import BuiltWarehouse


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "load", "build", "riskiest", "sync", "alerts", "calibrate", "sources"):
        assert command in out


def test_sources_check_names_the_bad_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    config = tmp_path / "sources.yml"
    config.write_text(
        "hubspot:\n  enabled: true\n  base_url: http://127.0.0.1:9\n  token_env: HS_TEST_TOKEN\n"
    )
    monkeypatch.setenv("HEALTHSCORE_SOURCES_CONFIG", str(config))
    monkeypatch.delenv("HS_TEST_TOKEN", raising=False)
    assert main(["sources", "check"]) == 1
    assert "hubspot.token_env" in capsys.readouterr().err


def test_load_follows_the_configuration_file(
    built_warehouse: BuiltWarehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    config = tmp_path / "sources.yml"
    config.write_text(f"files:\n  path: {built_warehouse.generation.source_dir}\n")
    warehouse = tmp_path / "w.duckdb"
    monkeypatch.setenv("HEALTHSCORE_SOURCES_CONFIG", str(config))
    monkeypatch.setenv("HEALTHSCORE_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("HEALTHSCORE_DATA_DIR", str(tmp_path / "data"))
    assert main(["load"]) == 0
    assert "files:" in capsys.readouterr().out
    with duckdb.connect(str(warehouse), read_only=True) as con:
        accounts = con.execute("select count(*) from raw.raw_accounts").fetchone()[0]
    assert accounts == built_warehouse.generation.row_counts["accounts"]


def test_generate_and_build_pass_their_options_through(tmp_path: Path):
    """Generator and dbt options reach them; other commands reject unknown options."""
    out = tmp_path / "demo"
    args = ["--out", str(out), "--accounts", "3", "--days", "40", "--end-date", "2026-01-31"]
    assert main(["generate", *args, "--quiet"]) == 0
    assert (out / "source" / "accounts.csv").read_text().count("\n") == 4
    with pytest.raises(SystemExit) as exited:
        main(["riskiest", "--select", "x"])
    assert exited.value.code == 2


def test_calibrate_exits_2_on_data_that_cannot_support_weights_and_apply_refuses(
    built_warehouse: BuiltWarehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    """The small test base has too few renewal outcomes to calibrate on: the command says so,
    exits 2, and the proposal it wrote cannot be applied without the explicit override."""
    seeds = settings.DBT_PROJECT_DIR / "seeds"
    before = {path.name: path.read_bytes() for path in seeds.glob("*.csv")}
    monkeypatch.setenv("HEALTHSCORE_WAREHOUSE", str(built_warehouse.warehouse))
    monkeypatch.setenv("HEALTHSCORE_DATA_DIR", str(tmp_path))
    assert main(["calibrate"]) == 2
    captured = capsys.readouterr()
    assert "NOT SUPPORTED" in captured.out
    assert "nothing can be applied without --allow-unsupported" in captured.err
    reports = [line for line in captured.out.splitlines() if line.startswith("Report: ")]
    assert len(reports) == 1 and Path(reports[0].removeprefix("Report: ")).is_file()
    (version,) = [p.name for p in (tmp_path / "calibration").iterdir() if p.is_dir()]

    assert main(["calibrate", "--apply", version]) == 1
    assert "not supported" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in seeds.glob("*.csv")} == before
