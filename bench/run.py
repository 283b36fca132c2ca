"""`make bench`: build or reuse the datasets, start the servers, measure in shuffled rounds.

    python -m bench.run                  # full: 10k and 1M, SQLite and PostgreSQL, 5 rounds
    python -m bench.run --quick          # smoke run on the 10k datasets, under 3 minutes
    python -m bench.run --rounds 7 --seconds 8 --datasets sqlite-1m,pg-1m --seed 42

Every round runs every configuration once, in an order shuffled with a printed seed; the
report takes, per round, each figure's ratio to the limits measured in that same round, and
gives the medians over rounds (this machine's CPU speed swings about 2x within seconds).
Results go to bench/results/<time>/ (measurements.jsonl, summary.json, table.md).
"""

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import datasets as data
from bench import floors, report
from bench.rig import Config, Rig, configs_for

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ALL = ["sqlite-10k", "pg-10k", "sqlite-1m", "pg-1m"]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10k datasets, 2 rounds of 1 s runs")
    parser.add_argument("--datasets", help=f"comma-separated subset of {','.join(ALL)}")
    parser.add_argument("--rounds", type=int, help="rounds (default 5; quick 2)")
    parser.add_argument("--seconds", type=int, help="seconds per wrk run (default 5; quick 1)")
    parser.add_argument("--seed", type=int, help="seed of the shuffles (default: random)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the datasets first")
    parser.add_argument("--max-minutes", type=float, help="stop starting rounds after this")
    parser.add_argument("--no-export", action="store_true", help="skip the CSV exports")
    args = parser.parse_args(argv)
    default = "sqlite-10k,pg-10k" if args.quick else ",".join(ALL)
    args.names = (args.datasets or default).split(",")
    unknown = set(args.names) - set(ALL)
    if unknown:
        parser.error(f"unknown datasets: {', '.join(sorted(unknown))}")
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.seconds = args.seconds or (1 if args.quick else 5)
    args.seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    args.max_minutes = args.max_minutes or (3 if args.quick else 150)
    return args


def dataset_of(name: str) -> data.Dataset:
    engine, scale = name.split("-")
    size = 10_000 if scale == "10k" else 1_000_000
    return data.Dataset("sqlite" if engine == "sqlite" else "postgresql", size)


def ensure_wrk() -> None:
    """Install wrk from Debian if it is missing."""
    if shutil.which("wrk"):
        return
    print("wrk is missing: apt-get install -y wrk", flush=True)
    install = ["apt-get", "install", "-y", "wrk"]
    if subprocess.run(install).returncode != 0:
        subprocess.run(["apt-get", "update"], check=True)
        subprocess.run(install, check=True)


def estimate(rigs: list[Rig], args: argparse.Namespace) -> float:
    """Return the expected seconds of the measuring (not of building datasets)."""
    per_round = 0.0
    for rig in rigs:
        for config in configs_for(rig, export=not args.no_export):
            per_round += config.estimate(args.seconds, rig.dataset.size)
    return 20.0 * len(rigs) + per_round * args.rounds


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    args = parse(argv)
    started = time.perf_counter()
    ensure_wrk()
    chosen = [dataset_of(name) for name in args.names]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = RESULTS / stamp
    (run_dir / "logs").mkdir(parents=True)
    print(
        f"bench: datasets {', '.join(args.names)}; {args.rounds} rounds of {args.seconds} s "
        f"runs; shuffle seed {args.seed}; results in {run_dir.relative_to(ROOT)}",
        flush=True,
    )
    data.require_connections(chosen)
    markers = {d.name: data.prepare(d, rebuild=args.rebuild) for d in chosen}
    environment = data.environment(chosen)
    rigs = [Rig(d, markers[d.name], run_dir) for d in chosen]
    meta: dict[str, Any] = {
        "args": {k: v for k, v in vars(args).items()},
        "environment": environment,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_at_start": measure_load(),
    }
    try:
        for rig in rigs:
            rig.start()
            meta.setdefault("datasets", {})[rig.dataset.name] = rig.describe()
        meta["git_at_server_start"] = data.git_state()
        seconds = estimate(rigs, args)
        print(
            f"bench: servers up; measuring takes about {seconds / 60:.0f} min "
            f"(bounded at {args.max_minutes:.0f} min)",
            flush=True,
        )
        (run_dir / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
        for rig in rigs:
            rig.warm_up()
        rounds(rigs, args, run_dir, started)
    finally:
        for rig in rigs:
            rig.stop()
            floors.delete_benchmark_meetings(rig.dataset.url, "BENCH-")
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    meta["load_at_end"] = measure_load()
    meta["git_at_end"] = data.git_state()
    meta["elapsed_minutes"] = round((time.perf_counter() - started) / 60, 1)
    (run_dir / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    summary = report.summarise(run_dir)
    print(summary["markdown"], flush=True)
    print(f"bench: done in {meta['elapsed_minutes']} min; {run_dir.relative_to(ROOT)}/table.md")


def measure_load() -> dict[str, Any]:
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    return {"uptime": uptime}


def rounds(rigs: list[Rig], args: argparse.Namespace, run_dir: Path, started: float) -> None:
    """Run every configuration once per round, in a shuffled order."""
    shuffle = random.Random(args.seed)
    out = run_dir / "measurements.jsonl"
    deadline = started + args.max_minutes * 60
    for number in range(1, args.rounds + 1):
        if time.perf_counter() > deadline:
            print(f"bench: time bound reached; stopping before round {number}", flush=True)
            break
        work: list[tuple[Rig, Config]] = [
            (rig, config) for rig in rigs for config in configs_for(rig, export=not args.no_export)
        ]
        shuffle.shuffle(work)
        print(f"bench: round {number}/{args.rounds} ({len(work)} runs)", flush=True)
        for rig, config in work:
            record = rig.run(config, seconds=args.seconds, round_number=number)
            with out.open("a") as stream:
                stream.write(json.dumps(record, default=str) + "\n")
            print(f"  {report.line(record)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
