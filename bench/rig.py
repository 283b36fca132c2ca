"""One dataset's rig: its three servers (service, LIMIT-A, LIMIT-B) and its configurations.

Before measuring, the rig checks that the baselines are what they claim: LIMIT-B's pages equal
the service's (first, deep, region + overdue), LIMIT-A serves the service's first-page bytes,
the conditional GET answers 304, and the benchmark document posts as a 201.
"""

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench import datasets as data
from bench import floors, measure
from bench.servers import (
    Server,
    cpu_seconds,
    load_average,
    service_command,
    uvicorn_command,
)

LIST = "/api/v1/recommendations"
FIRST = f"{LIST}?status=open&limit=50"
REGION = f"{LIST}?status=open&region=AL-02&overdue=true&limit=50"
SEARCH_WORD = "shkolle"
SEARCH = f"{LIST}?status=open&q={SEARCH_WORD}&limit=50"
EXPORT = f"{LIST}?format=csv"
MEETINGS = "/api/v1/meetings"
GET_CONNECTIONS = (1, 16)
SAMPLES = 5  # fewest requests a c1 latency may rest on
POST_CONNECTIONS = (1, 8)


@dataclass(frozen=True)
class Config:
    """One thing measured: what (kind), against which server, at which concurrency."""

    name: str  # e.g. "S-deep"
    kind: str  # get, post, floor-minutes, export, floor-csv
    connections: int = 1

    @property
    def key(self) -> str:
        return f"{self.name}@c{self.connections}"

    def estimate(self, seconds: int, size: int) -> float:
        """Return the expected wall time of one run, in seconds."""
        if self.kind == "get":
            return seconds + 0.4
        if self.kind in {"post", "floor-minutes"}:
            return seconds + 2.0
        millions = size / 1_000_000
        return 2.0 + (100.0 if self.kind == "export" else 30.0) * millions


def configs_for(rig: "Rig", *, export: bool = True) -> list[Config]:
    """Return every configuration measured on a dataset, once per round."""
    gets = ["A", "B", "B-deep", "B-region", "Bc", "Bc-deep", "Bc-region"]
    gets += ["S", "S-deep", "S-region", "S-q", "S-304"]
    found = [Config(name, "get", c) for name in gets for c in GET_CONNECTIONS]
    found += [Config("S-post", "post", c) for c in POST_CONNECTIONS]
    found += [Config("F-post", "floor-minutes", c) for c in POST_CONNECTIONS]
    if export:
        found += [Config("S-csv", "export"), Config("F-csv", "floor-csv")]
    return found


class Rig:
    """The servers of one dataset and how to measure each configuration on them."""

    def __init__(self, dataset: data.Dataset, marker: dict[str, Any], run_dir: Path) -> None:
        self.dataset = dataset
        self.tokens = marker["tokens"]
        self.run_dir = run_dir
        self.logs = run_dir / "logs"
        self.reader = {"Authorization": f"Bearer {self.tokens['reader']}"}
        self.writer = {"Authorization": f"Bearer {self.tokens['writer']}"}
        self.nonce = uuid.uuid4().hex[:8]
        self.checks: dict[str, Any] = {}
        self.deep, self.depth = data.deep_cursor(dataset)
        self.paths = {
            "first": FIRST,
            "deep": f"{FIRST}&cursor={self.deep}",
            "region": REGION,
            "q": SEARCH,
        }
        self.document = run_dir / f"minutes-{dataset.name}.json"
        self.servers: dict[str, Server] = {}

    def _server(self, name: str, command: list[str], **env: str) -> Server:
        log = self.logs / f"{self.dataset.name}-{name}.log"
        server = Server(f"{self.dataset.name} {name}", command, {**self.dataset.env(), **env}, log)
        self.servers[name] = server
        return server.start()

    def start(self) -> None:
        """Start the service and LIMIT-B, take the first page's bytes, start LIMIT-A, check."""
        url = self.dataset.url
        service = self._server("service", service_command())
        limit_b = self._server(
            "limit-b", uvicorn_command("bench.limits:limit_b"), BENCH_DATABASE_URL=url
        )
        limit_bc = self._server(
            "limit-bc",
            uvicorn_command("bench.limits:limit_b"),
            BENCH_DATABASE_URL=url,
            BENCH_CACHE_TOTALS="1",
        )
        status, _, body = service.get(FIRST, self.reader)
        if status != 200:
            raise RuntimeError(
                f"{self.dataset.name}: the service answered {status}: {body[:500]!r}"
            )
        page = self.run_dir / f"page-{self.dataset.name}.json"
        page.write_bytes(body)
        self._server("limit-a", uvicorn_command("bench.limits:limit_a"), BENCH_BYTES_FILE=str(page))
        for name in ("first", "deep", "region"):
            served = service.get(self.paths[name], self.reader)
            for label, limit in (("limit_b", limit_b), ("limit_bc", limit_bc)):
                computed = limit.get(self.paths[name])
                same = served[0] == computed[0] == 200
                same = same and orjson.loads(served[2]) == orjson.loads(computed[2])
                self.checks[f"{label}_equals_service_{name}"] = same
                if not same:
                    print(
                        f"WARNING {self.dataset.name}: {label}'s {name} page differs from the "
                        "service's; its ratios compare different work",
                        flush=True,
                    )
        self.checks["limit_a_bytes"] = self.servers["limit-a"].get(FIRST)[2] == body
        etag = service.get(FIRST, self.reader)[1].get("etag")
        self.checks["etag"] = etag
        if etag:
            self.checks["conditional_status"] = service.get(
                FIRST, {**self.reader, "If-None-Match": etag}
            )[0]
        document = floors.benchmark_document(url, "@REF@")
        self.document.write_text(json.dumps(document, ensure_ascii=False))
        probe = json.dumps({**document, "external_ref": f"BENCH-{self.nonce}-probe"}).encode()
        self.checks["post_status"] = service.post(MEETINGS, probe, self.writer)[0]
        floors.delete_benchmark_meetings(url, "BENCH-")
        self.checks["open_total"] = orjson.loads(body)["total"]

    def describe(self) -> dict[str, Any]:
        return {
            "url": self.dataset.url.split("@")[-1],
            "size": self.dataset.size,
            "deep_offset": self.depth,
            "deep_cursor": self.deep,
            "checks": self.checks,
            "pids": {name: server.pid for name, server in self.servers.items()},
        }

    def warm_up(self) -> None:
        """Send a few requests of every GET so that caches and compiled statements are warm."""
        for _ in range(10):
            for name, path in self.paths.items():
                self.servers["service"].get(path, self.reader)
                if name != "q":
                    self.servers["limit-b"].get(path)
                    self.servers["limit-bc"].get(path)
            self.servers["limit-a"].get(FIRST)

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def run(self, config: Config, *, seconds: int, round_number: int) -> dict[str, Any]:
        """Measure one configuration; return the record written to measurements.jsonl."""
        record: dict[str, Any] = {
            "round": round_number,
            "dataset": self.dataset.name,
            "config": config.name,
            "connections": config.connections,
            "at": time.strftime("%H:%M:%S"),
            "load": load_average(),
        }
        try:
            record.update(self._measure(config, seconds, round_number))
        except Exception as error:  # one failed run must not lose the others
            record["error"] = f"{type(error).__name__}: {error}"[:2000]
        return record

    def _measure(self, config: Config, seconds: int, round_number: int) -> dict[str, Any]:
        out = self.run_dir / "wrk-out.json"
        if config.kind == "get":
            server, path, headers, count = self._get_target(config.name)
            result = measure.wrk(
                server,
                path,
                connections=config.connections,
                seconds=seconds,
                headers=headers,
                out=out,
                count=count,
            )
            if config.connections == 1 and result["requests"] < SAMPLES:
                # Seconds per request: time a few more one by one, so p50 rests on more than
                # the one or two requests wrk completed.
                result["single_ms"] = self._time_requests(server, path, headers)
            return result
        prefix = f"BENCH-{self.nonce}-{round_number}-{config.name}{config.connections}-"
        if config.kind == "post":
            try:
                return measure.wrk(
                    self.servers["service"],
                    MEETINGS,
                    connections=config.connections,
                    seconds=seconds,
                    headers=self.writer,
                    out=out,
                    body=self.document,
                    ref=prefix,
                    count=True,
                )
            finally:
                # wrk stops with posts still in the server's hands; they commit after it exits.
                self._settle()
                floors.delete_benchmark_meetings(self.dataset.url, "BENCH-")
        if config.kind == "floor-minutes":
            try:
                return dict(
                    measure.floor(
                        "minutes",
                        self.dataset.url,
                        workers=config.connections,
                        seconds=seconds,
                        prefix=prefix,
                    )
                )
            finally:
                floors.delete_benchmark_meetings(self.dataset.url, "BENCH-")
        if config.kind == "export":
            return measure.export(self.servers["service"], EXPORT, self.reader)
        return dict(measure.floor("csv", self.dataset.url))

    def _time_requests(
        self, server: Server, path: str, headers: dict[str, str], budget: float = 60.0
    ) -> list[float]:
        timings: list[float] = []
        deadline = time.monotonic() + budget
        while len(timings) < SAMPLES and time.monotonic() < deadline:
            started = time.perf_counter()
            server.get(path, headers)
            timings.append(1000 * (time.perf_counter() - started))
        return timings

    def _settle(self, seconds: float = 30.0) -> None:
        """Wait until the service has used no CPU for two readings in a row (or `seconds`)."""
        pid = self.servers["service"].pid
        deadline = time.monotonic() + seconds
        last, quiet = cpu_seconds(pid), 0
        while quiet < 2 and time.monotonic() < deadline:
            time.sleep(0.25)
            now = cpu_seconds(pid)
            quiet = quiet + 1 if now - last < 0.005 else 0
            last = now

    def _get_target(self, name: str) -> tuple[Server, str, dict[str, str], bool]:
        if name == "A":
            return self.servers["limit-a"], FIRST, {}, False
        if name.startswith("B"):
            part = name.split("-", 1)[1] if "-" in name else "first"
            server = self.servers["limit-bc" if name.startswith("Bc") else "limit-b"]
            return server, self.paths[part], {}, False
        service = self.servers["service"]
        if name == "S-304":
            etag = service.get(FIRST, self.reader)[1].get("etag", '"none"')
            return service, FIRST, {**self.reader, "If-None-Match": etag}, True
        part = name.split("-", 1)[1] if "-" in name else "first"
        return service, self.paths[part], self.reader, False
