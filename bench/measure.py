"""One measurement each: a wrk run, a CSV export over HTTP, a raw-driver floor.

Every measurement also records what the machine did meanwhile: the CPU used by wrk itself (to
show the load generator is not the bottleneck), by the server process, and by the whole machine.
"""

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.servers import Server, cpu_seconds, machine_ticks, memory_kb

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "wrk.lua"


class Usage:
    """CPU use of a server process and of the machine over an interval."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.started = time.perf_counter()
        self.server = cpu_seconds(pid) if pid else 0.0
        self.machine = machine_ticks()

    def finish(self) -> dict[str, float]:
        wall = time.perf_counter() - self.started
        busy, total = machine_ticks()
        figures = {
            "machine_busy_pct": 100.0 * (busy - self.machine[0]) / max(total - self.machine[1], 1)
        }
        if self.pid:
            figures["server_cpu_pct"] = 100.0 * (cpu_seconds(self.pid) - self.server) / wall
        return figures


def wrk(
    server: Server,
    path: str,
    *,
    connections: int,
    seconds: int,
    headers: dict[str, str],
    out: Path,
    body: Path | None = None,
    ref: str = "",
    count: bool = False,
) -> dict[str, Any]:
    """Run wrk against `server` and return its summary plus the CPU figures."""
    threads = 1 if connections == 1 else 2
    env = {
        **os.environ,
        "BENCH_OUT": str(out),
        "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in headers.items()),
        "BENCH_BODY": str(body) if body else "",
        "BENCH_REF": ref,
        "BENCH_COUNT": "1" if count else "",
    }
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s"]
    command += ["-s", str(LUA), f"http://127.0.0.1:{server.port}{path}"]
    out.unlink(missing_ok=True)
    usage = Usage(server.pid)
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    text = process.stdout.read().decode(errors="replace")
    # wait4 gives wrk's own CPU time: the proof that the load generator was not the bottleneck.
    _, status, rusage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    figures = usage.finish()
    if process.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{text}")
    result: dict[str, Any] = json.loads(out.read_text())
    seconds_run = result["duration_us"] / 1e6
    result["rps"] = result["requests"] / seconds_run
    result["wrk_cpu_pct"] = 100.0 * (rusage.ru_utime + rusage.ru_stime) / seconds_run
    result.update(figures)
    return result


def export(server: Server, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """Download a CSV export; return rows/s, time to first body byte, bytes and RSS figures."""
    pid = server.pid
    idle = memory_kb(pid)
    peak = {"rss": idle["VmRSS"]}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                peak["rss"] = max(peak["rss"], memory_kb(pid)["VmRSS"])
            except (FileNotFoundError, ProcessLookupError):
                return
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    usage = Usage(pid)
    sampler.start()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    rows = 0
    size = 0
    first: float | None = None
    try:
        start = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        status = response.status
        while True:
            chunk = response.read1(256 * 1024)
            if not chunk:
                break
            if first is None:
                first = time.perf_counter() - start
            size += len(chunk)
            rows += chunk.count(b"\n")
        elapsed = time.perf_counter() - start
    finally:
        connection.close()
        stop.set()
        sampler.join()
    after = memory_kb(pid)
    rows -= 1  # the header row
    # VmHWM catches a peak between two samples, if it rose above the earlier high-water mark.
    peak_kb = max(peak["rss"], after["VmHWM"] if after["VmHWM"] > idle["VmHWM"] else 0)
    return {
        "status": status,
        "rows": rows,
        "bytes": size,
        "seconds": elapsed,
        "rows_per_s": rows / elapsed,
        "first_byte_s": first,
        "idle_rss_mb": idle["VmRSS"] / 1024,
        "peak_rss_mb": peak_kb / 1024,
        "rss_growth_mb": (peak_kb - idle["VmRSS"]) / 1024,
        **usage.finish(),
    }


def floor(kind: str, url: str, *, workers: int = 1, seconds: int = 5, prefix: str = "") -> Any:
    """Run a raw-driver floor in its own process; return its figures."""
    command = [sys.executable, "-m", "bench.floors", kind, "--url", url]
    command += ["--workers", str(workers), "--seconds", str(seconds), "--prefix", prefix]
    usage = Usage(None)
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE)
    assert process.stdout is not None
    text = process.stdout.read().decode()
    _, status, rusage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"floor {kind} failed ({process.returncode}): {text}")
    result: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
    result["floor_peak_rss_mb"] = rusage.ru_maxrss / 1024
    result.update(usage.finish())
    return result
