"""The API tells the whole truth: schemathesis fuzzes the live gateway's merged OpenAPI document.

Every check schemathesis has (`--checks all`: no 5xx, only documented statuses, bodies and
headers as documented, schema-valid input accepted, schema-invalid input refused, 405 with
`Allow` for undeclared methods, 401 without credentials, ...) over every phase (examples,
coverage, fuzzing, and the stateful phase that chains operations through the links it infers
from responses), through nginx as any client would: as the admin over every operation, and as
a customer over every operation that needs a token (a public one answers a customer as it
answers the admin).
Exceptions live in schemathesis.toml beside this file, each with its reason.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from checkout_support import ADMIN, login, new_user  # noqa: E402

pytestmark = pytest.mark.stack

HERE = Path(__file__).resolve().parent
REPORTS = HERE.parents[1] / "reports" / "contract"
# The `st` command, with anyio imported before its worker threads start: their lazy first import
# of it compiles source in two threads at once, which CPython 3.11 can fail with "AST constructor
# recursion depth mismatch" (gh-106905), an error of the tool that would read as one of the API.
SCHEMATHESIS = "import anyio, schemathesis.transport.asgi; from schemathesis.cli import schemathesis; schemathesis()"


@pytest.mark.parametrize("role", ["customer", "admin"])
def test_the_api_answers_as_its_document_says(stack, role, tmp_path):
    with stack.client() as client:
        headers = new_user(client)["headers"] if role == "customer" else login(client, ADMIN["email"],
                                                                                ADMIN["password"])
    REPORTS.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [sys.executable, "-c", SCHEMATHESIS, "--config-file", str(HERE / "schemathesis.toml"), "run",
         f"{stack.nginx}/api/openapi.json", "--url", stack.nginx, "--checks", "all",
         "--phases", "examples,coverage,fuzzing,stateful", "--workers", "2", "--no-color",
         "--header", f"Authorization: {headers['Authorization']}",
         "--report", "junit", "--report-junit-path", str(REPORTS / f"{role}.xml"),
         *(["--exclude-by", "/security == []"] if role == "customer" else [])],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)  # its .hypothesis/ stays out of the tree
    (REPORTS / f"{role}.txt").write_text(run.stdout + run.stderr)
    summary = re.search(r"(\d+) generated.*", run.stdout)
    print(f"\nschemathesis ({role}): {summary.group(0) if summary else 'no summary'}")  # the case count, with -s
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert summary and int(summary.group(1)) > 0, run.stdout[-3000:]  # it did generate and send cases
