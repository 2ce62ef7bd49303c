"""Every process the interop suite runs, started and stopped by one piece of code.

`hoist store`, `hoist serve` / `hoist api`, `hoist worker`, moto_server and the Ceph Object Gateway
are all children of this suite (the gateway through Interop/ceph.sh). Starting, waiting until a
process is ready, reading its log and stopping it (SIGTERM, then SIGKILL if it hangs) live here
once, so that no test and no fixture grows its own copy, and so that a process is only ever
signalled by the handle of whoever started it. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import atexit
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from interop_common import EXAMPLE_ACCESS_KEY, EXAMPLE_SECRET_KEY, REPO_ROOT, clean_env, hoist_bin, temp_dir  # noqa: E402

# Credentials handed to `hoist store` through its environment in the tests (any non-empty strings work;
# these are not the AWS documentation pair so that a store that ignores the variables is noticed).
TEST_ACCESS_KEY = "HOISTTESTACCESSKEY01"
TEST_SECRET_KEY = "hoist/test+Secret/Key0123456789abcdefGHIJ"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class ManagedProcess:
    """One child process with its own log file.

    Ready when every port in `ports` accepts connections and `ready_in(log)` (if given) is true of what
    this start wrote to the log. `start()` may be called again after `stop()` (the same data, a
    restart); the log keeps every run, each behind a marker line.
    """

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None, ports: tuple = (),
                 log_path: str | None = None, ready_in=None):
        self.name = name
        self.argv = list(argv)
        self.base_env = env
        self.ports = tuple(ports)
        self.ready_in = ready_in
        self.log_path = log_path or os.path.join(temp_dir("hoist-log-"), f"{name.replace(' ', '-')}.log")
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._log_offset = 0
        atexit.register(self._atexit)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def env(self) -> dict[str, str]:
        return self.base_env if self.base_env is not None else clean_env()

    def start(self, timeout: float = 60.0) -> str | None:
        """Start and wait until ready. None when up, else why not (the process is then stopped)."""
        self.starts += 1
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"\n--- start #{self.starts} at {time.strftime('%H:%M:%S')} ---\n")
            log.flush()
            self._log_offset = log.tell()
            self.proc = subprocess.Popen(self.argv, env=self.env(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_ready():
                self.on_ready(self.current_log())
                return None
            if self.proc.poll() is not None:
                why = f"{self.name} exited with status {self.proc.returncode} before it was ready; log: {self.log_tail()!r}"
                self.proc = None
                return why
            time.sleep(0.1)
        why = f"{self.name} was not ready within {timeout:.0f} s; log: {self.log_tail()!r}"
        self.stop(timeout=5)
        return why

    def is_ready(self) -> bool:
        if self.ready_in is not None and not self.ready_in(self.current_log()):
            return False
        return all(port_open(p) for p in self.ports)

    def on_ready(self, log: str) -> None:
        """What a subclass reads from the log once the process is ready."""

    def stop(self, timeout: float = 20.0) -> tuple[int | None, bool]:
        """SIGTERM, wait. Returns (exit status, stopped within timeout). Falls back to SIGKILL."""
        if self.proc is None:
            return None, True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
            graceful = True
        except subprocess.TimeoutExpired:
            self.proc.kill()  # our own child, by its handle
            rc = self.proc.wait()
            graceful = False
        self.proc = None
        return rc, graceful

    def kill9(self) -> None:
        """SIGKILL our own child and reap it (a crash, on purpose)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def current_log(self) -> str:
        """What the current (last) start wrote."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                f.seek(self._log_offset)
                return f.read()
        except OSError:
            return ""

    def log_tail(self, limit: int = 1500) -> str:
        return self.log_text()[-limit:]

    def _atexit(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.stop(timeout=10)
            except Exception:  # noqa: BLE001 - best effort at exit
                pass


class StoreProcess(ManagedProcess):
    """`hoist store --data DIR --port PORT --host 127.0.0.1`, credentials from its environment (None: it makes its own)."""

    def __init__(self, binary: str, data_dir: str, port: int, access_key: str | None = TEST_ACCESS_KEY,
                 secret_key: str | None = TEST_SECRET_KEY, log_path: str | None = None):
        super().__init__("hoist store", [binary, "store", "--data", data_dir, "--port", str(port), "--host", "127.0.0.1"],
                         ports=(port,), log_path=log_path)
        self.binary = binary
        self.data_dir = data_dir
        self.port = port
        self.access_key = access_key
        self.secret_key = secret_key

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return clean_env(HOIST_STORE_ACCESS_KEY=self.access_key, HOIST_STORE_SECRET_KEY=self.secret_key)


class HoistServerProcess(ManagedProcess):
    """`hoist serve` or `hoist api` with its own data folder and free ports; reads the dev token it prints.

    `env` adds to (or, with None, removes from) a clean environment (no AWS_* variables unless given,
    HOME an empty folder).
    """

    READY = {"serve": re.compile(r"^hoist serve: API on (\S+)", re.M), "api": re.compile(r"^hoist api on (\S+),", re.M)}
    TOKEN = {"serve": re.compile(r"export TOKEN=(\S+)"), "api": re.compile(r"dev token for 'dev': (\S+)")}

    def __init__(self, mode: str, env: dict | None = None, data_dir: str | None = None, binary: str | None = None):
        assert mode in ("serve", "api")
        self.mode = mode
        self.binary = binary or hoist_bin()
        self.data_dir = data_dir or temp_dir(f"hoist-{mode}-data-")
        self.api_port = free_port()
        self.store_port = free_port() if mode == "serve" else None
        self.extra_env = dict(env or {})
        self.dev_token: str | None = None
        super().__init__(f"hoist {mode}", [self.binary, mode],
                         ports=(self.api_port,) + ((self.store_port,) if self.store_port else ()),
                         ready_in=lambda log: bool(self.READY[mode].search(log)))

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def store(self) -> str | None:
        return f"http://127.0.0.1:{self.store_port}" if self.store_port else None

    def env(self) -> dict:
        base = {"HOIST_DATA": self.data_dir, "HOIST_API_PORT": str(self.api_port)}
        if self.store_port:
            base["HOIST_STORE_PORT"] = str(self.store_port)
        base.update(self.extra_env)
        return clean_env(**base)

    def on_ready(self, log: str) -> None:
        m = self.TOKEN[self.mode].search(log)
        self.dev_token = m.group(1) if m else None

    def token(self, user: str, ttl: int | None = None) -> str:
        """`hoist token USER --data DIR` with the same HOIST_API_PORT (so the issuer matches)."""
        args = [self.binary, "token", user, "--data", self.data_dir]
        if ttl is not None:
            args += ["--ttl", str(ttl)]
        proc = subprocess.run(args, env=self.env(), stdin=subprocess.DEVNULL, capture_output=True,
                              encoding="utf-8", errors="replace", timeout=60)
        if proc.returncode != 0 or not proc.stdout.strip():
            raise RuntimeError(f"hoist token {user} failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
        return proc.stdout.strip().splitlines()[-1].strip()

    def store_credentials(self) -> tuple[str, str]:
        with open(os.path.join(self.data_dir, "credentials.json"), encoding="utf-8") as f:
            creds = json.load(f)
        return creds["accessKeyId"], creds["secretAccessKey"]


def worker_process(queue_url: str, env: dict[str, str]) -> ManagedProcess:
    """`hoist worker --queue-url URL`: ready as soon as it runs (it has no port of its own to wait for)."""
    return ManagedProcess("hoist worker", [hoist_bin(), "worker", "--queue-url", queue_url], env=env)


def moto_process() -> ManagedProcess | None:
    """moto_server (pip `moto[server]`) on a free port of 127.0.0.1; None when it is not installed."""
    binary = shutil.which("moto_server")
    if not binary:
        return None
    port = free_port()
    proc = ManagedProcess("moto_server", [binary, "-H", "127.0.0.1", "-p", str(port)], env=dict(os.environ),
                          ports=(port,))
    proc.port = port
    return proc


# The Ceph peer's credentials: the start script's defaults, or RGW_ACCESS_KEY / RGW_SECRET_KEY.
RGW_ACCESS_KEY = os.environ.get("RGW_ACCESS_KEY", EXAMPLE_ACCESS_KEY)
RGW_SECRET_KEY = os.environ.get("RGW_SECRET_KEY", EXAMPLE_SECRET_KEY)


class CephGateway:
    """The throwaway Ceph Object Gateway of Interop/ceph.sh (Interop/peers/ceph): radosgw on 127.0.0.1.

    The daemons are started by the peer script and stopped by it through the pid files in its own
    CEPH_DIR, so only this cluster's daemons are ever signalled. With `external`, the gateway at
    RGW_ENDPOINT is used as it is and neither started nor stopped.
    """

    SCRIPT = str(REPO_ROOT / "Interop" / "ceph.sh")

    def __init__(self, ceph_dir: str | None = None, port: int | None = None, endpoint: str | None = None):
        self.access_key = RGW_ACCESS_KEY
        self.secret_key = RGW_SECRET_KEY
        self.external = endpoint is not None
        self.ceph_dir = ceph_dir or temp_dir("hoist-ceph-peer-")
        self.port = port or free_port()
        self.mon_ports = (free_port(), free_port())  # msgr2, msgr1
        self.endpoint = (endpoint or f"http://127.0.0.1:{self.port}").rstrip("/")
        self.started = False
        self.output = ""

    def _run(self, action: str, timeout: float) -> subprocess.CompletedProcess:
        env = dict(os.environ, CEPH_DIR=self.ceph_dir, RGW_PORT=str(self.port),
                   MON_V2_PORT=str(self.mon_ports[0]), MON_V1_PORT=str(self.mon_ports[1]))
        return subprocess.run(["bash", self.SCRIPT, action], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              encoding="utf-8", errors="replace", timeout=timeout)

    def start(self) -> str | None:
        """None when the gateway answers, else why not."""
        if self.external:
            return None
        try:
            proc = self._run("start", timeout=400)
        except subprocess.TimeoutExpired:
            self.started = True  # whatever came up is stopped by stop()
            return "Interop/ceph.sh start took more than 400 s"
        self.started = True
        self.output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            return f"Interop/ceph.sh start exited {proc.returncode}: {self.output[-2000:]}"
        return None

    def stop(self) -> None:
        if self.started and not self.external:
            self._run("stop", timeout=120)
            self.started = False


class PostgresProcess(ManagedProcess):
    """PostgreSQL (Debian's) in a temporary folder on a free port of 127.0.0.1: `initdb` (trust
    authentication, user `postgres`), then `postgres` in the foreground as the `postgres` user when run
    as root (PostgreSQL refuses root). `url` is the database URL for HOIST_DATABASE_URL."""

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        self.bin = bins[-1] if bins else ""
        self.data = tempfile.mkdtemp(prefix="hoist-pg-")
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        wrap = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        super().__init__("postgres", wrap + [f"{self.bin}/postgres", "-D", f"{self.data}/db", "-p", str(self.port),
                                             "-c", "listen_addresses=127.0.0.1", "-k", self.data, "-c", "fsync=off",
                                             "-c", "max_connections=200"],
                         env=dict(os.environ), ports=(self.port,))

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def init(self) -> str | None:
        """Creates the cluster; None when done, else why not."""
        if not self.bin:
            return "PostgreSQL is not installed (apt-get install postgresql)"
        if self.as_root:
            shutil.chown(self.data, "postgres", "postgres")
        os.chmod(self.data, 0o700)
        wrap = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        p = subprocess.run(wrap + [f"{self.bin}/initdb", "-D", f"{self.data}/db", "--auth=trust", "--username=postgres",
                                   "--encoding=UTF8", "--no-sync"], capture_output=True, text=True, timeout=120)
        return None if p.returncode == 0 else f"initdb failed: {p.stderr[-800:]}"

    def stop(self, timeout: float = 20.0) -> tuple[int | None, bool]:
        """SIGINT (PostgreSQL's fast shutdown: clients are disconnected), then as ManagedProcess."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        return super().stop(timeout=5)
