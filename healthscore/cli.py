"""`healthscore`: the command line for people who run the job without opening Dagster."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from healthscore import settings


def _say(message: str) -> None:
    print(f"  {message}", flush=True)


def _step(title: str) -> float:
    print(f"==> {title}", flush=True)
    return time.perf_counter()


def _done(started: float) -> None:
    print(f"    ({time.perf_counter() - started:.1f}s)", flush=True)


def _generated_with(out_dir: Path) -> dict | None:
    meta = out_dir / "ground_truth" / "meta.json"
    return json.loads(meta.read_text()).get("args") if meta.exists() else None


def cmd_generate(args: argparse.Namespace) -> int:
    from ingestion import demo_data

    return demo_data.main(args.extra)


def cmd_load(args: argparse.Namespace) -> int:
    from ingestion.configured_sources import load_configured_sources

    started = _step(f"Loading the configured sources into {settings.warehouse_path()}")
    reports = load_configured_sources(
        settings.warehouse_path(), source_dir=args.source, progress=_say
    )
    _done(started)
    for name, report in reports.items():
        print(f"{name}: {report.summary()}")
    return 0


def cmd_sources_check(args: argparse.Namespace) -> int:
    from ingestion.sources_check import check_sources

    problems = check_sources()
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    if not problems:
        print("every enabled source is configured and reachable")
    return 1 if problems else 0


def cmd_build(args: argparse.Namespace) -> int:
    from healthscore.dbt_runner import run_dbt

    started = _step("Building dbt models and running their tests")
    run_dbt(["build", *args.extra])
    _done(started)
    return 0


def cmd_riskiest(args: argparse.Namespace) -> int:
    from healthscore.riskiest import render, riskiest_accounts, status_shares

    warehouse = settings.warehouse_path()
    render(riskiest_accounts(warehouse, args.limit), status_shares(warehouse))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate (unless the same data is already there), load, build, show the riskiest."""
    from healthscore.dbt_runner import run_dbt
    from healthscore.riskiest import render, riskiest_accounts, status_shares
    from ingestion.demo_data import generate
    from ingestion.file_source import load_files

    total = time.perf_counter()
    out_dir = settings.data_dir() / "demo"
    wanted = {
        "accounts": args.accounts,
        "days": args.days,
        "seed": args.seed,
        "end_date": (args.end_date or datetime.now(UTC).date() - timedelta(days=1)).isoformat(),
    }
    previous = _generated_with(out_dir) or {}
    if {k: previous.get(k) for k in wanted} == wanted:
        print(f"==> Reusing demo data in {out_dir} (same seed, size and end date)")
    else:
        started = _step(f"Generating demo data: {args.accounts} accounts, {args.days} days")
        generate(
            out_dir,
            accounts=args.accounts,
            days=args.days,
            seed=args.seed,
            end_date=date.fromisoformat(wanted["end_date"]),
            progress=_say,
        )
        _done(started)

    warehouse = settings.warehouse_path()
    started = _step(f"Loading files into {warehouse}")
    load_files(out_dir / "source", warehouse, progress=_say)
    _done(started)

    started = _step("Building dbt models and running their tests")
    run_dbt(["build"], warehouse=warehouse, quiet=True)
    _done(started)

    render(riskiest_accounts(warehouse), status_shares(warehouse))
    print(f"\nDone in {time.perf_counter() - total:.0f}s. Next:")
    print(f"  warehouse:  {warehouse}  (duckdb {warehouse} -c 'from account_health_current')")
    print("  Dagster UI: make dev  → http://127.0.0.1:3000")
    return 0


def _print_metadata(metadata: dict) -> None:
    for key, value in metadata.items():
        if value not in ([], None, ""):
            print(f"  {key}: {value}")


def cmd_crm_setup(args: argparse.Namespace) -> int:
    from healthscore.writeback import ensure_properties

    report = ensure_properties(args.destination)
    print(f"created: {report.created or '-'}\nexisting: {report.existing or '-'}")
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_sync(args: argparse.Namespace) -> int:
    from healthscore.writeback import run_sync

    def progress(done: int, total: int) -> None:
        print(f"\r  sent {done}/{total} rows", end="", flush=True)

    report = run_sync(
        args.destination,
        settings.warehouse_path(),
        force=args.force,
        dry_run=True if args.dry_run else None,
        progress=progress,
        retry_parked=args.retry_parked,
    )
    print()
    metadata = report.metadata()
    metadata.pop("would_send", None)
    _print_metadata(metadata)
    return 1 if report.status in {"aborted", "blocked"} else 0


def cmd_alerts(args: argparse.Namespace) -> int:
    from healthscore import alerts

    warehouse = settings.warehouse_path()
    if args.action == "held":
        for run in alerts.held_runs(warehouse):
            print(run)
        return 0
    if args.action == "discard":
        print(f"discarded {alerts.discard_held(warehouse, run_id=args.run)} held alerts")
        return 0
    if args.action == "release":
        print(f"released {alerts.release_held(warehouse, run_id=args.run)} held alerts")
    report = alerts.deliver_pending(warehouse, progress=_say)
    _print_metadata(report.as_metadata())
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Propose weights from outcomes; or apply a reviewed proposal and rebuild."""
    from healthscore import calibration
    from healthscore.dbt_runner import run_dbt

    if args.apply:
        applied = calibration.apply_proposal(args.apply, allow_unsupported=args.allow_unsupported)
        print(f"applied {applied}")
        started = _step("Rebuilding with the applied configuration")
        run_dbt(["build"], quiet=True)
        _done(started)
        return 0
    result = calibration.run_calibration(settings.warehouse_path(), progress=_say)
    for line in result.summary_lines():  # the last names the report
        print(line)
    if not result.supported:
        print(
            "The data does not support calibrated weights; nothing can be applied without "
            "--allow-unsupported.",
            file=sys.stderr,
        )
        return 2
    print(f"apply with: healthscore calibrate --apply {result.version}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="healthscore",
        description=(
            "Warehouse-native customer health scores: load sources, build scores with dbt, "
            "inspect the riskiest accounts. Paths come from HEALTHSCORE_DATA_DIR, "
            "HEALTHSCORE_WAREHOUSE and HEALTHSCORE_SOURCE_DIR."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="generate demo data, load it, build, show results")
    demo.add_argument("--accounts", type=int, default=500, help="accounts to simulate (500)")
    demo.add_argument("--days", type=int, default=730, help="days of history (730)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (42)")
    demo.add_argument(
        "--end-date", type=date.fromisoformat, default=None, help="last day (default yesterday)"
    )
    demo.set_defaults(handler=cmd_demo)

    generate = commands.add_parser(
        "generate", help="write demo files only; options as `python -m ingestion.demo_data --help`"
    )
    generate.set_defaults(handler=cmd_generate, passthrough=True)

    load = commands.add_parser(
        "load",
        help="load every source sources.yml enables (default: the folder of contract files)",
    )
    load.add_argument(
        "--source",
        type=Path,
        default=None,
        help="folder of contract files (default: $HEALTHSCORE_SOURCE_DIR or data/demo/source)",
    )
    load.set_defaults(handler=cmd_load)

    sources = commands.add_parser(
        "sources", help="`sources check`: validate sources.yml settings and connectivity"
    )
    sources.add_argument("action", choices=["check"])
    sources.set_defaults(handler=cmd_sources_check)

    build = commands.add_parser(
        "build", help="dbt build (models, seeds, data and unit tests); other options go to dbt"
    )
    build.set_defaults(handler=cmd_build, passthrough=True)

    riskiest = commands.add_parser("riskiest", help="print today's riskiest accounts")
    riskiest.add_argument("--limit", type=int, default=10)
    riskiest.set_defaults(handler=cmd_riskiest)

    crm_setup = commands.add_parser(
        "crm-setup", help="create the customer_health CRM properties (idempotent)"
    )
    crm_setup.add_argument("destination", choices=["hubspot", "salesforce"])
    crm_setup.set_defaults(handler=cmd_crm_setup)

    sync = commands.add_parser(
        "sync",
        help="write changed scores to the CRM (dry run without credentials)",
        description=(
            "Diff the sync model against what the CRM last confirmed and send only changes. "
            "Without HUBSPOT_ACCESS_TOKEN (or SALESFORCE_*) it is a dry run that records what "
            "it would send in writeback.dry_run_records."
        ),
    )
    sync.add_argument("destination", choices=["hubspot", "salesforce"])
    sync.add_argument(
        "--force", action="store_true", help="proceed past the safety valve (large change)"
    )
    sync.add_argument("--dry-run", action="store_true", help="record what would be sent only")
    sync.add_argument(
        "--retry-parked", action="store_true", help="retry records the CRM reported deleted"
    )
    sync.set_defaults(handler=cmd_sync)

    alerts = commands.add_parser(
        "alerts",
        help="deliver pending alerts; list, release or discard held ones",
        description=(
            "deliver: send new and failed alerts (Slack, CRM tasks). held: list runs the storm "
            "guard held. release: let held alerts go, then deliver. discard: drop held alerts."
        ),
    )
    alerts.add_argument("action", choices=["deliver", "held", "release", "discard"])
    alerts.add_argument("--run", default=None, help="one held run id (default: all)")
    alerts.set_defaults(handler=cmd_alerts)

    calibrate = commands.add_parser(
        "calibrate",
        help="fit weights to renewal/churn history (proposal + report); --apply to use one",
        description=(
            "Without --apply: fit weights, cut-offs and churn probabilities on the point-in-time "
            "training set, backtest them on the newest decisions, write a versioned proposal "
            "and an HTML report, and print the headline figures (exit 2 when the data does not "
            "support calibrated weights). With --apply VERSION: make that proposal the live "
            "configuration (seeds) and rebuild."
        ),
    )
    calibrate.add_argument("--apply", metavar="VERSION", default=None)
    calibrate.add_argument(
        "--allow-unsupported",
        action="store_true",
        help="apply a proposal whose guardrails failed (you take responsibility)",
    )
    calibrate.set_defaults(handler=cmd_calibrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # `generate` and `build` hand their other options (`--accounts`, `--select`) to the
    # generator and to dbt; every other command rejects what it does not know.
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    if getattr(args, "source", "unset") is None:
        args.source = settings.source_dir()
    try:
        return args.handler(args)
    except Exception as error:  # a clear one-line error for people, the trace for -v users
        from healthscore.calibration import ProposalError, UnsupportedProposalError
        from healthscore.dbt_runner import DbtFailed
        from ingestion.file_reader import ContractError
        from ingestion.sources_config import SourceConfigError

        known = DbtFailed | ContractError | ProposalError | UnsupportedProposalError
        if isinstance(error, known | SourceConfigError):
            print(f"error: {error}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    raise SystemExit(main())
