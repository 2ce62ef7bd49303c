"""Fixtures of Hoist's interop suite: the servers every test module needs, written once.

- `hoist store` (module scope, `s3_target`): a temporary data folder, a free port of 127.0.0.1, fixed
  credentials; or the endpoint named by $S3_ENDPOINT, which is then neither started nor stopped.
- `hoist serve` / `hoist api` through `Servers`: `servers` for one test, `module_servers` for a
  module's long-lived server; each stops at teardown exactly the processes it started.
- The Ceph Object Gateway (session scope, `ceph`), by Interop/ceph.sh and the peer scripts; or the
  gateway at $RGW_ENDPOINT, used as it is.
- moto_server (module scope, `moto`).

A test module is a table of checks more than a handful of asserts: each check is counted (one
`Results` per module, the `checks` fixture), a failing check prints its details and fails its test
at the end, and the session closes with the count per module and the line
`interop checks: N passed, N failed` that .ci/run adds up. A test that breaks off (an exception, a
fixture that cannot start its server) counts as one more failed check ("… ran to the end"), so that
a crash can never pass for fewer checks.
"""

from __future__ import annotations

import os
import traceback

import pytest

from interop_common import ChecksFailed, Results, TALLIES, check_binary, fail_check, hoist_bin, tally, temp_dir
from processes import CephGateway, HoistServerProcess, StoreProcess, free_port, moto_process
from store_common import Target, external_target


def _tally_of(node) -> Results:
    return tally(str(node.path))


# --- counting checks ------------------------------------------------------------------------------

@pytest.fixture
def checks(request) -> Results:
    """The check counter of the test's module."""
    return _tally_of(request.node)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """A test passes only when its own checks all passed."""
    t = _tally_of(item)
    before = len(t.failures)
    outcome = yield
    new = t.failures[before:]
    if new and outcome.excinfo is None:
        shown = "\n  ".join(new[:20]) + (f"\n  … and {len(new) - 20} more" if len(new) > 20 else "")
        outcome.force_exception(ChecksFailed(f"{len(new)} check(s) failed:\n  {shown}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test or fixture that broke off (not a failed check) counts as one failed check."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.excinfo is not None and call.excinfo.errisinstance(ChecksFailed):
        report.longrepr = str(call.excinfo.value)  # the failed checks; their details are in the captured output
    elif report.failed and call.excinfo is not None:
        _tally_of(item).check(f"{item.name} ran to the end ({call.when})", False,
                              "".join(traceback.format_exception_only(call.excinfo.type, call.excinfo.value))[-1500:])


def pytest_sessionfinish(session, exitstatus):
    """A failed check fails the run, even one recorded at a fixture's teardown."""
    if exitstatus == 0 and any(t.failed for t in TALLIES.values()):
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    tr = terminalreporter
    tr.section("interop checks")
    notes = [(name, n) for name, t in sorted(TALLIES.items()) for n in t.notes]
    for name, note in notes:
        tr.write_line(f"{name}: {note}")
    if notes:
        tr.write_line("")
    for name, t in sorted(TALLIES.items()):
        if t.passed + t.failed == 0:
            continue
        tr.write_line(f"{name:<28} {t.passed:>5} checks passed, {t.failed} failed")
    passed = sum(t.passed for t in TALLIES.values())
    failed = sum(t.failed for t in TALLIES.values())
    tr.write_line(f"interop checks: {passed} passed, {failed} failed")


# --- the hoist binary ---------------------------------------------------------------------------------

@pytest.fixture(scope="session", autouse=True)
def hoist_binary() -> str:
    """$HOIST_BIN (default .build/debug/hoist), with every subcommand the suite drives."""
    why = (check_binary("presign", "verify")
           or check_binary("store", must_mention=("--data", "--port"))
           or check_binary("serve", "api", "token", must_mention=("--data",)))
    if why:
        pytest.fail(why, pytrace=False)
    return hoist_bin()


# --- hoist store ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def s3_target(request):
    """The S3 endpoint under test: $S3_ENDPOINT, else a fresh `hoist store` for this module."""
    t = external_target()
    if t is not None:
        yield t
        return
    checks = _tally_of(request.node)
    store = StoreProcess(hoist_bin(), temp_dir("hoist-store-data-"), free_port())
    why = store.start()
    if why:
        fail_check(checks, "start hoist store", why)
    yield Target(store.endpoint, store.access_key, store.secret_key, store, "hoist store")
    if store.proc is not None and not store.alive():
        checks.check("hoist store still running at the end", False, store.log_tail())
    rc, graceful = store.stop()
    checks.info(f"hoist store stopped: exit status {rc}{'' if graceful else ' (had to be killed)'}")


# --- hoist serve / hoist api -----------------------------------------------------------------------

class Servers:
    """Starts `hoist serve` / `hoist api` (temporary data folder, free ports) and stops every one it started."""

    def __init__(self, checks: Results):
        self.checks = checks
        self.started: list[HoistServerProcess] = []

    def start(self, mode: str, env: dict | None = None, data_dir: str | None = None,
              check: str | None = None) -> HoistServerProcess:
        """A running server. With `check`, its start is a counted check; a failed start always counts."""
        srv = HoistServerProcess(mode, env=env, data_dir=data_dir)
        self.started.append(srv)
        why = srv.start()
        label = check or f"hoist {mode} starts"
        if check is not None and why is None:
            self.checks.check(check, True)
        if why:
            fail_check(self.checks, label, why)
        return srv

    def stop(self, srv: HoistServerProcess, check: str | None = None) -> None:
        """SIGTERM; with `check`, a counted check that it stopped in time with status 0."""
        rc, graceful = srv.stop()
        if check is not None:
            self.checks.check(check, graceful and rc == 0, f"rc {rc}, graceful {graceful}; log: {srv.log_tail(800)!r}")

    def stop_all(self) -> None:
        for srv in self.started:
            srv.stop()


@pytest.fixture
def servers(checks):
    """Servers for one test."""
    pool = Servers(checks)
    yield pool
    pool.stop_all()


@pytest.fixture(scope="module")
def module_servers(request):
    """Servers that live as long as the test module (its main `hoist serve`)."""
    pool = Servers(_tally_of(request.node))
    yield pool
    before = pool.checks.failed
    pool.stop_all()
    if pool.checks.failed > before:
        raise ChecksFailed("a server of this module did not stop cleanly")


# --- peers: the Ceph Object Gateway, moto's SQS ------------------------------------------------------------

@pytest.fixture(scope="session")
def ceph():
    """radosgw on 127.0.0.1 (RGW_PORT, else a free port; data in CEPH_DIR, else a temporary folder)."""
    port = os.environ.get("RGW_PORT")
    gw = CephGateway(ceph_dir=os.environ.get("CEPH_DIR") or None, port=int(port) if port else None,
                     endpoint=os.environ.get("RGW_ENDPOINT") or None)
    why = gw.start()
    if why:
        gw.stop()
        pytest.fail(f"the Ceph Object Gateway did not start: {why}", pytrace=False)
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def moto(request):
    """moto_server on a free port of 127.0.0.1 (its SQS)."""
    checks = _tally_of(request.node)
    proc = moto_process()
    if proc is None:
        fail_check(checks, "moto_server starts", "moto_server is not on PATH (pip install 'moto[server]')")
    why = proc.start(timeout=30)
    if not checks.check("moto_server starts", why is None, why or ""):
        raise ChecksFailed(why)
    yield proc
    proc.stop(timeout=10)
