"""Shared helpers of Hoist's interop suite (and of the benchmarks in Benchmarks/).

Nothing here signs anything: it finds the `hoist` binary, runs it, talks to a
long-lived `hoist verify` process, freezes botocore's clock and counts checks.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# The documentation credentials used throughout AWS's examples (and by the
# Ceph peer's start script). They sign nothing real.
EXAMPLE_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
EXAMPLE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

VERBOSE = os.environ.get("INTEROP_VERBOSE", "") not in ("", "0", "false")


def hoist_bin() -> str:
    """Path of the hoist binary: $HOIST_BIN, else .build/debug/hoist under the repo root."""
    value = os.environ.get("HOIST_BIN", "")
    path = Path(value) if value else REPO_ROOT / ".build" / "debug" / "hoist"
    if not path.is_absolute():
        path = REPO_ROOT / path
    return str(path)


def clean_env(**extra: str | None) -> dict[str, str]:
    """The current environment without any AWS_* variable, plus `extra` (None removes).

    HOME points at an empty temporary folder so that a developer's own
    ~/.aws/credentials never leaks into a test.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = _empty_home()
    return overlay(env, extra)


def overlay(base: dict, changes: dict) -> dict:
    """BASE with CHANGES applied in place: a value replaces, None removes. Returns BASE."""
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


_EMPTY_HOME: str | None = None


def temp_dir(prefix: str) -> str:
    """A temporary folder, removed when the run (pytest, a benchmark) exits."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def _empty_home() -> str:
    global _EMPTY_HOME
    if _EMPTY_HOME is None:
        _EMPTY_HOME = temp_dir("hoist-interop-home-")
    return _EMPTY_HOME


def run_hoist(args: list[str], env: dict[str, str], timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Run `hoist ARGS...`; returns the CompletedProcess (text mode, UTF-8)."""
    return subprocess.run(
        [hoist_bin(), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
    )


def check_binary(*subcommands: str, must_mention: tuple[str, ...] = (), binary: str | None = None) -> str | None:
    """None when the hoist binary exists and `hoist SUB --help` works for each subcommand, else why not.

    An older hoist prints its top-level help (exit 0) for an unknown subcommand, so `must_mention`
    lists options the subcommand's own help must show.
    """
    path = binary or hoist_bin()
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        return f"hoist binary not found or not executable at {path} (set HOIST_BIN, or run `swift build`)"
    for sub in subcommands or ("presign", "verify"):
        try:
            proc = subprocess.run([path, sub, "--help"], env=clean_env(), stdin=subprocess.DEVNULL,
                                  capture_output=True, encoding="utf-8", errors="replace", timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"`hoist {sub} --help` failed to run: {exc}"
        if proc.returncode != 0:
            return f"`hoist {sub} --help` exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[:500]}"
        missing = [m for m in must_mention if m not in proc.stdout]
        if missing:
            return f"this hoist has no `{sub}` subcommand (its help shows no {', '.join(missing)}): {path}"
    return None


class Verifier:
    """One long-running `hoist verify` process; `check(obj)` sends one JSON line and reads one back."""

    def __init__(self, args: list[str], env: dict[str, str], timeout: float = 15.0):
        self.args = list(args)
        self.env = env
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.stderr_file = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        self._start()

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [hoist_bin(), "verify", *self.args],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr_file,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )

    def stderr_tail(self, limit: int = 800) -> str:
        self.stderr_file.flush()
        self.stderr_file.seek(0)
        text = self.stderr_file.read()
        self.stderr_file.seek(0, os.SEEK_END)
        return text[-limit:]

    def check(self, obj: dict) -> dict:
        """Send one case; returns the parsed reply, or {"_error": why} if there is none."""
        assert self.proc is not None
        line = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            return self._broken(f"writing to hoist verify failed: {exc}")
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        ready = sel.select(self.timeout)
        sel.close()
        if not ready:
            return self._broken(f"no reply from hoist verify within {self.timeout}s")
        reply = self.proc.stdout.readline()
        if not reply:
            return self._broken("hoist verify closed its output (crashed?)")
        try:
            parsed = json.loads(reply)
        except ValueError:
            return {"_error": f"reply is not JSON: {reply[:300]!r}"}
        if not isinstance(parsed, dict):
            return {"_error": f"reply is not a JSON object: {reply[:300]!r}"}
        return parsed

    def _broken(self, why: str) -> dict:
        rc = self.proc.poll() if self.proc else None
        detail = f"{why}; exit status {rc}; stderr: {self.stderr_tail()!r}"
        self.close()
        self._start()  # keep going with a fresh process for the next cases
        return {"_error": detail}

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # our own child, by its handle
            self.proc.wait()
        self.proc = None


class ChecksFailed(AssertionError):
    """Raised at the end of a test whose checks failed (each failure is printed with its details)."""


class Results:
    """Counts checks; prints every failure with its details, passes only when INTEROP_VERBOSE=1.

    Under pytest there is one per test module (`tally`), so that each module's count of checks shows
    in the run's summary (coverage that drops is seen); `finish()` is a benchmark's closing line.
    """

    def __init__(self, label: str):
        self.label = label
        self.passed = 0
        self.failed = 0
        self.failures: list[str] = []
        self.notes: list[str] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            if VERBOSE:
                print(f"PASS {name}" + (f" -- {detail}" if detail else ""))
        else:
            self.failed += 1
            self.failures.append(name)
            print(f"FAIL {name}")
            if detail:
                for line in detail.rstrip("\n").split("\n"):
                    print(f"    {line}")
        sys.stdout.flush()
        return ok

    def info(self, text: str) -> None:
        self.notes.append(text)
        print(f"INFO {text}")
        sys.stdout.flush()

    def finish(self) -> int:
        print(f"{self.label}: {self.passed} passed, {self.failed} failed")
        sys.stdout.flush()
        return 0 if self.failed == 0 else 1


TALLIES: dict[str, Results] = {}


def fail_check(results: Results, name: str, why: str):
    """Record a failed check and stop the fixture or test that made it."""
    results.check(name, False, why)
    raise ChecksFailed(f"{name}: {why[:500]}")


def tally(module: str) -> Results:
    """The one Results of a test module (by its file name, e.g. test_store_boto3.py)."""
    name = os.path.basename(module)
    if name not in TALLIES:
        TALLIES[name] = Results(name)
    return TALLIES[name]


@contextlib.contextmanager
def frozen_botocore_clock(when: dt.datetime):
    """Make botocore sign as if the time were `when` (naive or aware UTC)."""
    import botocore.auth
    import botocore.signers

    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def fake(remove_tzinfo: bool = True) -> dt.datetime:
        return when if remove_tzinfo else when.replace(tzinfo=dt.timezone.utc)

    saved = (botocore.auth.get_current_datetime, botocore.signers.get_current_datetime)
    botocore.auth.get_current_datetime = fake
    botocore.signers.get_current_datetime = fake
    try:
        yield
    finally:
        botocore.auth.get_current_datetime, botocore.signers.get_current_datetime = saved


def amz_date(when: dt.datetime) -> str:
    """20130524T000000Z form of a UTC datetime."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return when.strftime("%Y%m%dT%H%M%SZ")


def utcnow() -> dt.datetime:
    """Current UTC time, naive, to the second."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def flip_char(c: str, hex_only: bool = False) -> str:
    """A different character of the same kind (digit, lower, upper; hex stays hex)."""
    if hex_only:
        digits = "0123456789abcdef" if not c.isupper() else "0123456789ABCDEF"
        return digits[(digits.index(c) + 1) % 16]
    for alphabet in ("0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        if c in alphabet:
            return alphabet[(alphabet.index(c) + 1) % len(alphabet)]
    return "x" if c != "x" else "y"


def flip_one(s: str, hex_only: bool = False, from_end: bool = True) -> str:
    """Change one ASCII letter or digit of `s`, never inside a %XX escape.

    Raises ValueError when `s` has no such character.
    """
    protected = set()
    for i, c in enumerate(s):
        if c == "%" and i + 2 < len(s):
            protected.update((i + 1, i + 2))
    order = range(len(s) - 1, -1, -1) if from_end else range(len(s))
    for i in order:
        c = s[i]
        if i in protected or not (c.isascii() and c.isalnum()):
            continue
        if hex_only and c.lower() not in "0123456789abcdef":
            continue
        return s[:i] + flip_char(c, hex_only) + s[i + 1:]
    raise ValueError(f"nothing to flip in {s!r}")
