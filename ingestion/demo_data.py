"""Deterministic demo data: a B2B SaaS customer base written as the DESIGN §4 file contract.

`generate` simulates a hidden daily health per account, derives every observable entity from
it with noise and lags, lets it decide renewals, and writes

    out_dir/source/        the contract files the file source loads (CSV, Parquet, JSON Lines)
    out_dir/ground_truth/  the hidden health, each account's archetype and churn, meta.json

so that calibration can be proved against a truth nobody else sees. The same arguments
(seed and end date included) always produce byte-identical files.

    python -m ingestion.demo_data --out data/demo --accounts 500 --days 730 --seed 42
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from healthscore import settings
from ingestion.contract import ENTITY_BY_NAME
from ingestion.demo import crm, dirt, product, support
from ingestion.demo.formats import write_csv, write_jsonl, write_parquet, write_parts
from ingestion.demo.world import (
    CHURN_ALPHA,
    CHURN_BETA,
    DECISION_WINDOW,
    RANDOM_CHURN_RATE,
    SECONDS_PER_DAY,
    Window,
    World,
    accounts_truth_table,
    build_world,
    health_truth_table,
    stream,
)

SOURCE, TRUTH = "source", "ground_truth"
# Entities written as one file each; the extension picks the format.
SINGLE_FILES = {
    "accounts": "accounts.csv",
    "users": "users.csv",
    "features": "features.csv",
    "contracts": "contracts.csv",
    "overrides": "overrides.csv",
    "meetings": "meetings.csv",
    "nps_responses": "nps_responses.csv",
    "tickets": "tickets.jsonl",
}
WRITERS = {".csv": write_csv, ".jsonl": write_jsonl, ".parquet": write_parquet}
# Entities written as a folder of Parquet parts, one per calendar month (M) or year (Y), so a
# daily refresh rewrites only the latest part: (numpy datetime unit, file name prefix).
PARTS = {"events": ("M", "events-"), "email_events": ("Y", "part-")}
TRUTH_FILES = ("account_health_daily.parquet", "accounts.parquet", "meta.json")
MIN_DAYS = 30  # shorter windows leave no room for a trajectory or a renewal


@dataclass(frozen=True)
class GenerationSummary:
    out_dir: Path
    start_date: date
    end_date: date
    row_counts: dict[str, int]  # rows written per entity, planted dirt included
    dirt_counts: dict[str, int]  # planted bad rows per kind (see ingestion.demo.dirt.DIRT)
    decisions: dict[str, int]  # contracts by outcome: renewed, churned, open
    files: dict[str, tuple[Path, ...]]  # per entity, and "ground_truth"
    meta_path: Path

    @property
    def source_dir(self) -> Path:
        return self.out_dir / SOURCE

    @property
    def ground_truth_dir(self) -> Path:
        return self.out_dir / TRUTH


def _yesterday_utc() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def _conform(entity: str, table: pa.Table) -> pa.Table:
    """Exactly the contract's columns in the contract's order: fails loudly if one is missing."""
    return table.select([c.name for c in ENTITY_BY_NAME[entity].columns])


def _clear_previous(out_dir: Path) -> None:
    """Remove files an earlier run wrote, so a shorter window leaves no stale month behind.
    Only names this generator writes are touched."""
    source, truth = out_dir / SOURCE, out_dir / TRUTH
    stale = [source / name for name in SINGLE_FILES.values()] + [truth / n for n in TRUTH_FILES]
    for entity, (_unit, prefix) in PARTS.items():
        stale += (source / entity).glob(f"{prefix}*.parquet")
    for path in stale:
        path.unlink(missing_ok=True)


def _part_names(seconds: np.ndarray, unit: str, prefix: str) -> np.ndarray:
    """The part file of each row: its UTC calendar month or year, from epoch seconds."""
    day = (np.asarray(seconds) // SECONDS_PER_DAY).astype("datetime64[D]")
    periods, index = np.unique(day.astype(f"datetime64[{unit}]"), return_inverse=True)
    return np.array([f"{prefix}{p}.parquet" for p in periods])[index]


def _source_tables(
    seed: int, world: World, with_dirt: bool
) -> tuple[dict[str, pa.Table], dict[str, np.ndarray], dict[str, int]]:
    """Every contract entity, the epoch seconds of each row of the multi-part ones (rows are in
    time order), and the dirt planted."""
    users = product.build_users(stream(seed, "users"), world)
    rows = product.build_events(stream(seed, "events"), world, users)
    events, seconds = product.events_table(stream(seed, "event_text"), world, users, rows)
    tickets = support.tickets_table(stream(seed, "tickets"), world)
    nps = support.nps_table(stream(seed, "nps"), world, users)
    counts = dict.fromkeys(dirt.DIRT, 0)
    if with_dirt:
        events, seconds, planted = dirt.plant_event_dirt(
            stream(seed, "dirt_events"), events, seconds, world.size
        )
        tickets, ticket_dirt = dirt.plant_ticket_dirt(stream(seed, "dirt_tickets"), tickets)
        nps, nps_dirt = dirt.plant_nps_dirt(stream(seed, "dirt_nps"), nps)
        counts |= planted | ticket_dirt | nps_dirt
    email = crm.email_events_table(stream(seed, "email"), world, users)
    tables = {
        "accounts": crm.accounts_table(stream(seed, "accounts"), world),
        "users": product.users_table(stream(seed, "user_text"), world, users),
        "features": product.features_table(),
        "contracts": crm.contracts_table(world),
        "overrides": crm.overrides_table(stream(seed, "overrides"), world),
        "meetings": crm.meetings_table(stream(seed, "meetings"), world),
        "nps_responses": nps,
        "tickets": tickets,
        "events": events,
        "email_events": email,
    }
    moments = {"events": seconds, "email_events": email["occurred_at"].cast(pa.int64()).to_numpy()}
    return {name: _conform(name, t) for name, t in tables.items()}, moments, counts


def _write_source(
    out_dir: Path, tables: dict[str, pa.Table], moments: dict[str, np.ndarray]
) -> dict[str, tuple[Path, ...]]:
    source = out_dir / SOURCE
    files = {
        name: (WRITERS[Path(file).suffix](tables[name], source / file),)
        for name, file in SINGLE_FILES.items()
    }
    for entity, (unit, prefix) in PARTS.items():
        names = _part_names(moments[entity], unit, prefix)
        files[entity] = tuple(write_parts(tables[entity], names, source / entity))
    return files


def _meta(summary: GenerationSummary, args: dict[str, object]) -> dict[str, object]:
    """What a test or a notebook needs to know about the data without re-deriving it."""
    churn_model = (
        {
            "kind": "health",
            "alpha": CHURN_ALPHA,
            "beta": CHURN_BETA,
            "mean_health_window_days_before_end": list(DECISION_WINDOW),
        }
        if args["churn_driven_by_health"]
        else {"kind": "coin", "rate": RANDOM_CHURN_RATE}
    )
    return {
        "generator": "ingestion.demo_data",
        "seed": args["seed"],
        "args": args,
        "start_date": summary.start_date.isoformat(),
        "end_date": summary.end_date.isoformat(),
        "uninformative_signals": list(crm.UNINFORMATIVE_SIGNALS),
        "dirt": summary.dirt_counts,
        "row_counts": summary.row_counts,
        "decisions": summary.decisions,
        "churn_model": churn_model,
        "files": {
            name: [p.relative_to(summary.out_dir).as_posix() for p in paths]
            for name, paths in summary.files.items()
        },
    }


def _decisions(world: World) -> dict[str, int]:
    outcomes, counts = np.unique(world.contracts["outcome"], return_counts=True)
    found = {str(o): int(c) for o, c in zip(outcomes, counts, strict=True)}
    return {outcome: found.get(outcome, 0) for outcome in ("renewed", "churned", "open")}


def generate(
    out_dir: Path,
    *,
    accounts: int = 500,
    days: int = 730,
    seed: int = 42,
    end_date: date | None = None,
    churn_driven_by_health: bool = True,
    dirt: bool = True,
    progress: Callable[[str], None] | None = None,
) -> GenerationSummary:
    """Write the demo source files and their ground truth under `out_dir`.

    `end_date` is the last day of data (default: yesterday, UTC). With
    `churn_driven_by_health=False` renewals are a coin flip at about the same overall rate,
    which calibration must report as "no reliable signal". `dirt` plants the bad rows counted
    in meta.json.
    """
    if accounts < 1 or days < MIN_DAYS or seed < 0:
        raise ValueError(f"need accounts >= 1, days >= {MIN_DAYS} and seed >= 0")
    say = progress or (lambda _message: None)
    out_dir = Path(out_dir)
    window = Window(end_date or _yesterday_utc(), days)
    world = build_world(seed, accounts, window, churn_driven_by_health)
    decisions = _decisions(world)
    say(
        f"world: {accounts} accounts, {window.start} to {window.end}, "
        f"{decisions['renewed']} renewals, {decisions['churned']} churns"
    )
    tables, moments, dirt_counts = _source_tables(seed, world, dirt)
    say(f"simulated: {tables['events'].num_rows:,} events, {tables['tickets'].num_rows:,} tickets")

    _clear_previous(out_dir)
    files = _write_source(out_dir, tables, moments)
    say(f"wrote {sum(len(f) for f in files.values())} source files to {out_dir / SOURCE}")
    truth = out_dir / TRUTH
    files["ground_truth"] = (
        write_parquet(health_truth_table(world), truth / "account_health_daily.parquet"),
        write_parquet(accounts_truth_table(world), truth / "accounts.parquet"),
    )
    summary = GenerationSummary(
        out_dir=out_dir,
        start_date=window.start,
        end_date=window.end,
        row_counts={name: t.num_rows for name, t in tables.items()},
        dirt_counts=dirt_counts,
        decisions=decisions,
        files=files,
        meta_path=truth / "meta.json",
    )
    args = {
        "accounts": accounts,
        "days": days,
        "seed": seed,
        "end_date": window.end.isoformat(),
        "churn_driven_by_health": churn_driven_by_health,
        "dirt": dirt,
    }
    summary.meta_path.write_text(json.dumps(_meta(summary, args), indent=2) + "\n")
    say(f"wrote ground truth to {truth}")
    return summary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.demo_data",
        description=(
            "Write deterministic demo data for healthscore: the DESIGN §4 contract files under "
            "OUT/source and the hidden truth (daily health, churn, meta.json) under "
            "OUT/ground_truth. Same arguments, same bytes."
        ),
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: $HEALTHSCORE_DATA_DIR/demo, i.e. data/demo)",
    )
    parser.add_argument("--accounts", type=int, default=500, help="number of accounts (500)")
    parser.add_argument("--days", type=int, default=730, help="days of history (730)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (42)")
    parser.add_argument(
        "--end-date",
        type=date.fromisoformat,
        default=None,
        help="last day of data, YYYY-MM-DD (default: yesterday, UTC)",
    )
    parser.add_argument(
        "--random-churn",
        action="store_true",
        help="make churn a coin flip independent of health (a calibration control)",
    )
    parser.add_argument("--no-dirt", action="store_true", help="plant no bad rows")
    parser.add_argument("--quiet", action="store_true", help="print only the final line")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        summary = generate(
            args.out or settings.data_dir() / "demo",
            accounts=args.accounts,
            days=args.days,
            seed=args.seed,
            end_date=args.end_date,
            churn_driven_by_health=not args.random_churn,
            dirt=not args.no_dirt,
            progress=None if args.quiet else print,
        )
    except ValueError as error:
        parser.error(str(error))
    counts = ", ".join(f"{name} {n:,}" for name, n in summary.row_counts.items())
    print(f"done in {time.perf_counter() - started:.1f}s: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
