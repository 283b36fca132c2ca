"""Single-worker uvicorn processes on loopback: the service, LIMIT-A and LIMIT-B.

Each listens on port 0; the bound port is read from uvicorn's startup line in its log. Each runs
in its own process group and is stopped by its own id.
"""

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
START_SECONDS = 60.0


class Server:
    """One uvicorn process serving one app on 127.0.0.1."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log = log
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> "Server":
        """Start the process and wait for its port and a first answer."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            found = RUNNING.search(self.log.read_text(errors="replace"))
            if found:
                self.port = int(found.group(1))
                return self
            time.sleep(0.1)
        self.stop()
        tail = self.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{self.name} did not start; its log ends with:\n{tail}")

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
        """Send one GET; return status, headers (lower-case names) and body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            body = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body
        finally:
            connection.close()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """Send one POST of a JSON body; return status and body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            connection.request(
                "POST", path, body=body, headers={**headers, "Content-Type": "application/json"}
            )
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop the process group: SIGTERM, then SIGKILL after a grace time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


def uvicorn_command(factory: str) -> list[str]:
    """Return the command serving a bench.limits factory as the service is served."""
    return [
        str(BIN / "uvicorn"),
        "--factory",
        factory,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--workers",
        "1",
        "--no-access-log",
        "--no-server-header",
    ]


def service_command() -> list[str]:
    """Return the command serving the service with one worker."""
    return [str(BIN / "krat"), "serve", "--host", "127.0.0.1", "--port", "0", "--workers", "1"]


# --- /proc readings ----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kb(pid: int) -> dict[str, int]:
    """Return VmRSS and VmHWM (peak RSS so far) of a process, in kB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            name, value = line.split(":", 1)
            found[name] = int(value.split()[0])
    return found


def machine_ticks() -> tuple[int, int]:
    """Return (busy, total) jiffies of all CPUs, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def load_average() -> list[float]:
    """Return the 1, 5 and 15 minute load averages."""
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
