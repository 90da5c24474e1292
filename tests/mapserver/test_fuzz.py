"""schemathesis against both OpenAPI documents of the real server: no 5xx for anything a client
sends, and (for our own document) status codes and content types the document declares.

Bounded for CI: a fixed seed, the *examples* and *fuzzing* phases, ``ONEMAP_FUZZ_EXAMPLES`` cases
per operation (default 20: a few thousand cases in all, a few minutes). ``make fuzz`` is the long
run, with schemathesis's *coverage* phase (tens of thousands of boundary cases). Every root cause
either run found has its own regression test beside the code's other tests, so it cannot come
back unnoticed if the fuzzer's sampling changes.

The server runs on a copy of the session's sample data: the fuzzer posts uploads and process
jobs, and those must not change what other tests read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from onemap.config import Settings
from tests.conftest import Caller
from tests.mapserver.fuzzing import DOCUMENTS, fuzz
from tests.server import run_server, sample_copy

pytestmark = pytest.mark.server
EXAMPLES = int(os.environ.get("ONEMAP_FUZZ_EXAMPLES", "20"))


@pytest.fixture(scope="module")
def fuzz_server(sample_settings: Settings, callers: dict[str, Caller],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of its own on a copy of the sample (with the callers' accounts): the admin's
    fuzz cases add users, keys and rules that other tests must not see."""
    data = sample_copy(sample_settings.data_dir, tmp_path_factory.mktemp("fuzz"))
    with run_server(data) as base:
        yield base


def _failures(output: str, limit: int = 12000) -> str:
    """The failures section of schemathesis's report (the reproducing curl commands)."""
    start = output.find("FAILURES")
    return output[start:start + limit] if start >= 0 else output[-limit:]


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_no_server_errors(fuzz_server: str, callers: dict[str, Caller], document: str,
                          tmp_path: Path) -> None:
    run = fuzz(fuzz_server, document, EXAMPLES, tmp_path, phases="examples,fuzzing",
               key=callers["admin"].key)
    assert run.cases > 0, run.output[-3000:]
    assert run.server_errors == 0 and run.returncode == 0, \
        f"{run.command}\n{_failures(run.output)}"
