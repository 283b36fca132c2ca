"""Turn a run's measurements into medians, per-round ratios to the limits, and the targets.

    python -m bench.report bench/results/<time>      # re-print a run's tables

Ratios are taken within a round (the service and the limit it is compared with were measured
minutes apart at most), then the median over rounds is reported with the rounds' range.
"""

import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

GETS = ["A", "B", "B-deep", "B-region", "Bc", "Bc-deep", "Bc-region"]
GETS += ["S", "S-deep", "S-region", "S-q", "S-304"]
# The LIMIT-B run each page is compared with (LIMIT-B′ is compared with LIMIT-B too).
MATCHING_B = {
    "S": "B",
    "S-deep": "B-deep",
    "S-region": "B-region",
    "S-q": "B",
    "S-304": "B",
    "Bc": "B",
    "Bc-deep": "B-deep",
    "Bc-region": "B-region",
}
DESCRIBE = {
    "A": "LIMIT-A: first page's bytes from memory",
    "B": "LIMIT-B: first page, raw driver + orjson",
    "B-deep": "LIMIT-B: page 300k deep (per 1M)",
    "B-region": "LIMIT-B: region=AL-02&overdue=true",
    "Bc": "LIMIT-B′ (total cached): first page",
    "Bc-deep": "LIMIT-B′: page 300k deep",
    "Bc-region": "LIMIT-B′: region + overdue",
    "S": "service: first page",
    "S-deep": "service: page 300k deep (per 1M)",
    "S-region": "service: region=AL-02&overdue=true",
    "S-q": "service: q=shkolle",
    "S-304": "service: conditional GET → 304",
}

Records = dict[tuple[str, str, int, int], dict[str, Any]]  # (dataset, config, conns, round)


def load(run_dir: Path) -> tuple[Records, dict[str, Any]]:
    records: Records = {}
    path = run_dir / "measurements.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        r = json.loads(line)
        records[(r["dataset"], r["config"], r["connections"], r["round"])] = r
    meta_path = run_dir / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    return records, meta


def value(r: dict[str, Any] | None, figure: str) -> float | None:
    """Return one figure of a record: rps, p50/p99 (ms), docs, rows, ttfb, rss."""
    if r is None or "error" in r:
        return None
    if figure == "rps":
        return r.get("rps")
    if figure in {"p50", "p99"}:
        if r.get("single_ms"):
            # wrk completed too few requests; these were timed one by one after it.
            timings = sorted(r["single_ms"])
            return statistics.median(timings) if figure == "p50" else timings[-1]
        return r["latency_us"][figure] / 1000 if r.get("requests") else None
    if figure == "docs":
        if "documents_per_s" in r:
            return r["documents_per_s"]
        return r.get("statuses", {}).get("201", 0) / (r["duration_us"] / 1e6)
    if figure == "rows":
        return r.get("rows_per_s")
    if figure == "rows_total":
        return r.get("rows")
    if figure == "ttfb":
        return r.get("first_byte_s")
    if figure == "rss":
        return r.get("rss_growth_mb")
    return r.get(figure)


def rounds_of(records: Records) -> list[int]:
    return sorted({key[3] for key in records})


def per_round(records: Records, compute: Callable[[int], float | None]) -> list[float]:
    found = []
    for number in rounds_of(records):
        result = compute(number)
        if result is not None:
            found.append(result)
    return found


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def spread(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


class Run:
    """A run's records with helpers for medians and same-round ratios."""

    def __init__(self, records: Records) -> None:
        self.records = records

    def get(self, dataset: str, config: str, conns: int, number: int) -> dict[str, Any] | None:
        return self.records.get((dataset, config, conns, number))

    def median(self, dataset: str, config: str, conns: int, figure: str) -> dict[str, Any]:
        return spread(
            per_round(self.records, lambda n: value(self.get(dataset, config, conns, n), figure))
        )

    def ratio(
        self,
        top: tuple[str, str, int, str],
        bottom: tuple[str, str, int, str],
    ) -> dict[str, Any]:
        """Median over rounds of top/bottom, each a (dataset, config, conns, figure)."""

        def one(number: int) -> float | None:
            a = value(self.get(top[0], top[1], top[2], number), top[3])
            b = value(self.get(bottom[0], bottom[1], bottom[2], number), bottom[3])
            return ratio(a, b)

        return spread(per_round(self.records, one))


def fmt(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "–"
    return f"{x:,.{digits}f}"


def fmt_ratio(s: dict[str, Any], percent: bool = True) -> str:
    if s["median"] is None:
        return "–"
    if percent:
        return f"{100 * s['median']:.0f}% ({100 * s['min']:.0f}–{100 * s['max']:.0f})"
    return f"{s['median']:.2f}× ({s['min']:.2f}–{s['max']:.2f})"


def datasets_in(records: Records) -> list[str]:
    order = ["sqlite-10k", "pg-10k", "sqlite-1m", "pg-1m"]
    present = {key[0] for key in records}
    return [d for d in order if d in present]


def get_table(run: Run, dataset: str) -> list[str]:
    lines = [
        f"#### {dataset}: `GET /recommendations?status=open&limit=50` and variants",
        "",
        "| configuration | c1 req/s | c1 p50 ms | c1 p99 ms | c16 req/s | c16 p50 ms | c16 p99 ms "
        "| ÷ LIMIT-B c1 | ÷ LIMIT-B c16 | ÷ LIMIT-B′ c16 | ÷ LIMIT-A c16 | wrk CPU c16 "
        "| server CPU c16 |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    footnote = False
    for config in GETS:
        cells = [DESCRIBE[config]]
        for conns in (1, 16):
            for figure, digits in (("rps", 0), ("p50", 2), ("p99", 2)):
                cells.append(fmt(run.median(dataset, config, conns, figure)["median"], digits))
        b = MATCHING_B.get(config, "B" if config != "A" else None)
        for conns in (1, 16):
            if b and config != b:
                cells.append(
                    fmt_ratio(
                        run.ratio((dataset, config, conns, "rps"), (dataset, b, conns, "rps"))
                    )
                )
            else:
                cells.append("–")
        bc = MATCHING_B.get(config, "").replace("B", "Bc", 1) if config.startswith("S") else ""
        cells.append(
            fmt_ratio(run.ratio((dataset, config, 16, "rps"), (dataset, bc, 16, "rps")))
            if bc
            else "–"
        )
        cells.append(
            fmt_ratio(run.ratio((dataset, config, 16, "rps"), (dataset, "A", 16, "rps")))
            if config != "A"
            else "–"
        )
        for figure in ("wrk_cpu_pct", "server_cpu_pct"):
            cells.append(fmt(run.median(dataset, config, 16, figure)["median"]) + "%")
        idle = _idle_rounds(run, dataset, config)
        if idle:
            cells[0] += f" †{idle}"
            footnote = True
        lines.append("| " + " | ".join(cells) + " |")
    if footnote:
        lines += [
            "",
            "†n: in n rounds a run completed no request at c16 within its seconds (0 req/s, no "
            "latency): the req/s medians count those zeros, the latency medians leave them out.",
        ]
    return [*lines, ""]


def _idle_rounds(run: Run, dataset: str, config: str) -> int:
    return sum(
        1
        for key, r in run.records.items()
        if key[:3] == (dataset, config, 16) and "error" not in r and r.get("requests") == 0
    )


def post_table(run: Run, datasets: list[str]) -> list[str]:
    lines = [
        "| dataset | service c1 docs/s | floor c1 docs/s | service ÷ floor c1 | service c8 docs/s "
        "| floor c8 docs/s | service ÷ floor c8 | non-201 answers |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for d in datasets:
        bad = sum(
            sum(n for s, n in r.get("statuses", {}).items() if s != "201") + r["errors"]["timeout"]
            for key, r in run.records.items()
            if key[0] == d and key[1] == "S-post" and "error" not in r
        )
        cells = [d]
        for c in (1, 8):
            cells += [
                fmt(run.median(d, "S-post", c, "docs")["median"], 1),
                fmt(run.median(d, "F-post", c, "docs")["median"], 1),
                fmt_ratio(run.ratio((d, "S-post", c, "docs"), (d, "F-post", c, "docs"))),
            ]
        cells.append(str(bad))
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def export_table(run: Run, datasets: list[str]) -> list[str]:
    lines = [
        "| dataset | rows | service rows/s | raw cursor rows/s | service ÷ raw | first byte s "
        "| idle RSS MB | peak RSS MB | growth MB | same bytes |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for d in datasets:
        rows = run.median(d, "S-csv", 1, "rows")
        if rows["n"] == 0:
            continue
        # Only rounds that measured both (a run read while it is going has a half round).
        pairs = [
            (
                (run.get(d, "S-csv", 1, n) or {}).get("bytes"),
                (run.get(d, "F-csv", 1, n) or {}).get("bytes"),
            )
            for n in rounds_of(run.records)
        ]
        same = {a == b for a, b in pairs if a is not None and b is not None}
        lines.append(
            "| "
            + " | ".join(
                [
                    d,
                    fmt(run.median(d, "F-csv", 1, "rows_total")["median"]),
                    fmt(rows["median"]),
                    fmt(run.median(d, "F-csv", 1, "rows")["median"]),
                    fmt_ratio(run.ratio((d, "S-csv", 1, "rows"), (d, "F-csv", 1, "rows"))),
                    fmt(run.median(d, "S-csv", 1, "ttfb")["median"], 3),
                    fmt(run.median(d, "S-csv", 1, "idle_rss_mb")["median"], 1),
                    fmt(run.median(d, "S-csv", 1, "peak_rss_mb")["median"], 1),
                    fmt(run.median(d, "S-csv", 1, "rss")["median"], 1),
                    "yes" if same == {True} else "NO",
                ]
            )
            + " |"
        )
    return [*lines, ""]


def summarise(run_dir: Path) -> dict[str, Any]:
    """Write summary.json and table.md for a run; return them."""
    from bench.targets import targets  # it builds on this module's helpers

    records, meta = load(run_dir)
    run = Run(records)
    datasets = datasets_in(records)
    lines: list[str] = []
    for d in datasets:
        lines += get_table(run, d)
    lines += ["#### `POST /meetings` (20 attendees, 10 problems, 15 recommendations × 2)", ""]
    lines += post_table(run, datasets)
    lines += ["#### CSV export of every recommendation (`GET /recommendations?format=csv`)", ""]
    lines += export_table(run, datasets)
    checked = targets(run, datasets)
    lines += [
        "#### Targets",
        "",
        "| target | dataset | measured (median, rounds' range) | met |",
        "|---|---|---|---|",
    ]
    for t in checked:
        met = "–" if t["met"] is None else ("met" if t["met"] else "**not met**")
        lines.append(f"| {t['target']} | {t['dataset']} | {t['shown']} | {met} |")
    lines += ["", "#### Checks", "", *checks(run, meta, datasets)]
    markdown = "\n".join(lines) + "\n"
    errors = [r for r in records.values() if "error" in r]
    summary = {"meta": meta, "targets": checked, "errors": errors, "markdown": markdown}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    (run_dir / "table.md").write_text(markdown)
    return summary


def checks(run: Run, meta: dict[str, Any], datasets: list[str]) -> list[str]:
    """Return the checks that the figures measure what they claim, one line per dataset."""
    lines = []
    for d in datasets:
        found = meta.get("datasets", {}).get(d, {}).get("checks", {})
        wrong = [name for name, ok in found.items() if "equals" in name and not ok]
        if found and not found.get("limit_a_bytes"):
            wrong.append("LIMIT-A's bytes")
        if found.get("conditional_status") not in (None, 304):
            wrong.append(f"conditional GET answered {found.get('conditional_status')}")
        if found.get("post_status") not in (None, 201):
            wrong.append(f"probe post answered {found.get('post_status')}")
        not_304 = failed = 0
        for key, r in run.records.items():
            if key[0] != d or "error" in r:
                continue
            if key[1] == "S-304":
                not_304 += sum(n for s, n in r.get("statuses", {}).items() if s != "304")
            if "errors" in r:
                failed += sum(r["errors"].values())
        errors = sum(1 for key, r in run.records.items() if key[0] == d and "error" in r)
        lines.append(
            f"- {d}: LIMIT-B and LIMIT-B′ pages equal the service's (first, deep, region): "
            f"{'yes' if found and not wrong else 'NO: ' + ', '.join(wrong) if found else '?'}; "
            f"answers other than 304 in the 304 runs: {not_304}; wrk socket/status errors: "
            f"{failed}; failed measurements: {errors}"
        )
    return lines


def line(r: dict[str, Any]) -> str:
    """Return one progress line for a record."""
    head = f"r{r['round']} {r['dataset']:<10} {r['config']:<8} c{r['connections']:<2}"
    if "error" in r:
        return f"{head} ERROR {r['error'][:200]}"
    if "latency_us" in r:
        extra = f" statuses {r['statuses']}" if r.get("statuses") else ""
        errors = {k: v for k, v in r["errors"].items() if v}
        if errors:
            extra += f" errors {errors}"
        if r.get("single_ms"):
            extra += f" one by one: {', '.join(f'{t:.0f}' for t in r['single_ms'])} ms"
        return (
            f"{head} {r['rps']:>9,.1f} req/s  p50 {r['latency_us']['p50'] / 1000:.2f} ms  "
            f"p99 {r['latency_us']['p99'] / 1000:.2f} ms  wrk {r['wrk_cpu_pct']:.0f}% "
            f"server {r.get('server_cpu_pct', 0):.0f}%{extra}"
        )
    if "documents_per_s" in r:
        return f"{head} {r['documents_per_s']:>9,.1f} docs/s (raw floor)"
    return f"{head} {r['rows_per_s']:>9,.0f} rows/s  first byte {r['first_byte_s']:.3f} s" + (
        f"  RSS +{r['rss_growth_mb']:.1f} MB" if "rss_growth_mb" in r else ""
    )


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1]))["markdown"])
