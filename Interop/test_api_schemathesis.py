"""A bounded schemathesis run of Sources/HoistServer/openapi.yaml against a live `hoist serve`.

Property-based requests to every operation of the document, with a dev token, and the check that no
response is a server error (5xx). The server (the suite's `servers` fixture) has its rate limit raised
so that the limiter does not hide the handlers. `schemathesis run` makes at most $ST_MAX_EXAMPLES cases
per operation and phase (default 200, about 30 s here) under a hard limit of $ST_TIMEOUT seconds
(default 170). The schema is read from the file (the server may serve it at /openapi.yaml too).

Env: HOIST_BIN, ST_MAX_EXAMPLES, ST_TIMEOUT, ST_SEED (default: random; schemathesis prints the seed).
One check: it passes when schemathesis ran cleanly and found no 5xx.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from interop_common import REPO_ROOT, temp_dir

SCHEMA = REPO_ROOT / "Sources" / "HoistServer" / "openapi.yaml"


def schemathesis_command() -> list[str] | None:
    if shutil.which("schemathesis"):
        return ["schemathesis"]
    probe = subprocess.run([sys.executable, "-c", "import schemathesis"], capture_output=True)
    if probe.returncode == 0:
        return [sys.executable, "-c",
                'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "schemathesis"; schemathesis()']
    return None


def test_no_server_error(checks, servers) -> None:
    name = "schemathesis: every operation of openapi.yaml, no 5xx"
    st = schemathesis_command()
    if st is None:
        checks.check(name, False, "schemathesis is not installed (pip install -r Interop/requirements.txt)")
        return
    if not SCHEMA.is_file():
        checks.check(name, False, f"no OpenAPI document at {SCHEMA}")
        return
    srv = servers.start("serve", env={"HOIST_RATE_PER_MINUTE": "1000000", "HOIST_RATE_BURST": "1000000"})
    if not srv.dev_token:
        checks.check(name, False, f"hoist serve printed no dev token; log: {srv.log_tail(800)!r}")
        return
    max_examples = os.environ.get("ST_MAX_EXAMPLES", "200")
    hard_timeout = int(os.environ.get("ST_TIMEOUT", "170"))
    seed = ["--seed", os.environ["ST_SEED"]] if os.environ.get("ST_SEED") else []
    # --workers 1: Python 3.11.7's ast.parse is not thread-safe (CPython gh-106905, "AST constructor recursion
    # depth mismatch"), which hypothesis reaches when describing filters from several worker threads.
    # Run in a temporary folder: schemathesis keeps its example database in ./.schemathesis.
    argv = [*st, "--no-color", "run", str(SCHEMA), "--url", srv.api,
            "--header", f"Authorization: Bearer {srv.dev_token}", "--checks", "not_a_server_error",
            "--max-examples", max_examples, "--workers", "1", "--request-timeout", "10", *seed]
    try:
        run = subprocess.run(argv, cwd=temp_dir("hoist-schemathesis-"), env=dict(os.environ, NO_COLOR="1"),
                             stdin=subprocess.DEVNULL, capture_output=True, encoding="utf-8", errors="replace",
                             timeout=hard_timeout)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        out = out.replace(srv.dev_token, "<dev token>")
        checks.check(name, False, f"schemathesis did not finish within {hard_timeout} s\n{out[-3000:]}")
        return
    output = (run.stdout + run.stderr).replace(srv.dev_token, "<dev token>")  # no token in the logs
    print(output)
    if not srv.alive():
        checks.check(name, False, f"hoist serve died during the run; log: {srv.log_tail(2000)!r}")
        return
    ran = re.search(r"(^|[^0-9])[1-9][0-9]* generated", output) is not None
    why = ("schemathesis found server errors (5xx): see its output" if "Server error" in output else
           f"schemathesis exited {run.returncode} without a clean run (no test cases, or an error of its own)")
    checks.check(name, ran and run.returncode == 0, "" if ran and run.returncode == 0 else f"{why}\n{output[-3000:]}")
