"""Run schemathesis (its CLI, pinned in pyproject) against both OpenAPI documents of a live server.

Used by tests/mapserver/test_fuzz.py (a bounded run in ``make test``) and by ``make fuzz``
(``python -m tests.mapserver.fuzzing``: the long run on its own freshly generated data).

The CLI, not the pytest plugin: it runs every phase (examples, coverage, fuzzing) of every
operation with one fixed seed, reports how many cases it sent, and its exit status says whether
any check failed. Left out, with reasons:

- the *stateful* phase: schemathesis infers a link from ``GET /api/rasters`` to
  ``DELETE /api/rasters/{id}`` and deletes every raster in the first seconds, so the rest of the
  run would fuzz 404s (the hooks also keep real ids out of any DELETE);
- response checks of pygeoapi's document: its response schemas are the OGC's, on
  schemas.opengis.net (offline here, replaced by descriptions in fuzz_hooks.py).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
ROOT = Path(__file__).resolve().parents[2]
SEED = 11
#: The two documents: ours (FastAPI: /api, /stac, /raster, /cube) and pygeoapi's (/ogc).
DOCUMENTS = {"api": "/api/openapi.json", "ogc": "/ogc/openapi?f=json"}
CHECKS = {"api": "not_a_server_error,status_code_conformance,content_type_conformance",
          "ogc": "not_a_server_error"}


@dataclass
class FuzzRun:
    document: str
    cases: int
    server_errors: int
    failures: int
    returncode: int
    output: str
    command: str


def _count(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    return int(match.group(1)) if match else 0


def fuzz(base: str, document: str, examples: int, report_dir: Path, seed: int = SEED,
         workers: int = 1, phases: str = "examples,coverage,fuzzing",
         key: str | None = None) -> FuzzRun:
    """One schemathesis run over ``document`` ("api" or "ogc") of the server at ``base``.

    The *coverage* phase walks every schema constraint's boundaries and negations (empty and
    ",,," lists, nulls, huge numbers) whatever ``examples`` is: ~30,000 cases for our document
    alone, so the bounded CI run leaves it to ``make fuzz``. One worker: the same seed then sends
    the same cases, and CPython 3.11's ``ast`` is not thread-safe (two workers made
    hypothesis's generators fail now and then with "AST constructor recursion depth
    mismatch", a schemathesis error that leaves an operation untested).

    ``key``: an admin's API key, sent with every case, so that the routes behind a role (the
    writes, the admin API) are fuzzed past their 401 — on a server of its own, since the cases
    then add users, keys and rules."""
    cmd = [SCHEMATHESIS, "run", base + DOCUMENTS[document], "--checks", CHECKS[document],
           "--phases", phases, "--max-examples", str(examples),
           "--seed", str(seed), "--workers", str(workers), "--request-timeout", "120",
           "--generation-database", "none", "--no-color", "--continue-on-failure",
           "--report", "ndjson", "--report-dir", str(report_dir)]
    if key:
        cmd += ["--header", f"Authorization: Bearer {key}"]
    env = {**os.environ, "ONEMAP_FUZZ_BASE": base,
           "SCHEMATHESIS_HOOKS": "tests.mapserver.fuzz_hooks",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                         if p)}
    report_dir.mkdir(parents=True, exist_ok=True)  # also its cwd: schemathesis caches there
    proc = subprocess.run(cmd, env=env, cwd=report_dir, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    return FuzzRun(document=document, cases=_count(r"(\d+) generated", out),
                   server_errors=_count(r"ST101 Server error: (\d+)", out),
                   failures=_count(r"(\d+) unique failures", out), returncode=proc.returncode,
                   output=out, command=" ".join(cmd))


def main() -> int:
    """``make fuzz``: a fresh sample region, its own server, both documents, a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int,
                        default=int(os.environ.get("ONEMAP_FUZZ_EXAMPLES", "10")),
                        help="most cases per operation in the examples and fuzzing "
                             "phases (default 10)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()

    from onemap.access import accounts
    from onemap.config import Settings
    from onemap.data.generate import generate
    from tests.server import run_server

    work = Path(tempfile.mkdtemp(prefix="onemap-fuzz-"))
    try:
        settings = Settings(data_dir=work / "data")
        generate(settings, scale="region", force=True)
        accounts.add(settings, "fuzzer", roles=["admin"])
        _, key = accounts.create_key(settings, "fuzzer", "make fuzz")
        report_dir = ROOT / "test-artifacts" / "fuzz"
        with run_server(work / "data") as base:
            runs = [fuzz(base, doc, args.examples, report_dir, args.seed, key=key)
                    for doc in DOCUMENTS]
        shutil.copy(work / "data" / "server.log", report_dir / "server.log")  # the tracebacks
        for run in runs:
            print(run.output)
        for run in runs:
            print(f"fuzz {run.document}: {run.cases} cases, {run.server_errors} server errors, "
                  f"{run.failures} failures (exit {run.returncode})\n  {run.command}")
        print(f"fuzz total: {sum(r.cases for r in runs)} cases, "
              f"{sum(r.server_errors for r in runs)} server errors")
        return 0 if all(r.returncode == 0 for r in runs) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
