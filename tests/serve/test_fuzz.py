"""Schemathesis over the whole OpenAPI schema against real uvicorn on loopback: with an admin
token (schema-valid and schema-violating requests) and without one, no answer is a 5xx and
every answer conforms to the schema (status documented, body valid, content type, headers).

Left out on purpose: ``positive_data_acceptance`` (a schema-valid zone or feature name need
not be one the city has: the schema cannot list a city's zones, so 422 is right) and
``unsupported_method`` (Starlette's 405 lists only the methods of the first route on a path:
a framework limit, noted in docs/serve.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cityfocus.serve.bootstrap import bootstrap
from cityfocus.serve.store.engine import open_store
from tests.serve.conftest import Served, serving

CHECKS = [status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
NEGATIVE_CHECKS = [*CHECKS, negative_data_rejection]

@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A service of its own (fuzzed writes must not reach the other tests' store): its URL
    and the first admin token."""
    data_dir = tmp_path_factory.mktemp("fuzz") / "cityfocus-data"
    store = open_store(data_dir)
    done = bootstrap(store)
    assert done.admin_token is not None
    try:
        with serving(store) as url:
            yield url, done.admin_token.read_text().strip()
    finally:
        store.close()


def fuzz(url: str, token: str | None, examples: int, *, derandomize: bool) -> list[str]:
    """Run every operation ``examples`` times (positive and, with a token, negative data);
    returns the failures, one text each."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    own_id = None if token is None else int(token.split("_")[1])
    modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if token else [])
    runs = settings(max_examples=examples, deadline=None, database=None,
                    derandomize=derandomize, suppress_health_check=list(HealthCheck))
    failures: list[str] = []
    session = requests.Session()

    def call(case: schemathesis.Case, mode: GenerationMode) -> None:
        if case.path_parameters and case.path_parameters.get("token_id") == own_id:
            return  # revoking the fuzzer's own token would end the run early
        response = case.call(base_url=url, session=session, headers=headers)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: {response.status_code} "
                            f"{response.text[:200]}")
            return
        checks = NEGATIVE_CHECKS if mode is GenerationMode.NEGATIVE else CHECKS
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as err:  # its text is schemathesis' report
            failures.append(f"{case.method} {case.formatted_path} ({mode}): {err}")

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in modes:
            test = runs(given(case=operation.as_strategy(mode), mode=st.just(mode))(call))
            try:
                test()
            except Unsatisfiable:  # nothing to negate (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE
    return failures


def test_fuzz_with_an_admin_token(fuzzed: tuple[str, str]) -> None:
    url, admin = fuzzed
    failures = fuzz(url, admin, examples=8, derandomize=True)
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:8])


def test_fuzz_without_a_token(fuzzed: tuple[str, str]) -> None:
    url, _ = fuzzed
    failures = fuzz(url, None, examples=4, derandomize=True)
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:8])


@pytest.mark.slow
def test_fuzz_longer(tmp_path: Path, fuzzed: tuple[str, str]) -> None:
    url, admin = fuzzed
    failures = fuzz(url, admin, examples=80, derandomize=False)
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:8])


def test_what_the_fuzzer_found_stays_fixed(served: Served) -> None:
    """Each was a 500 or an answer off its schema before."""
    with served.client(served.tokens["admin"]) as client:
        # an id past the store's integers: 422, not an overflow in the database (500)
        assert client.get("/cities/synthetic/decisions",
                          params={"before": -2**80}).status_code == 422
        assert client.get(f"/cities/synthetic/decisions/{2**63}").status_code == 422
        assert client.delete(f"/tokens/{2**31}").status_code == 422
        # a time with an offset that has no UTC year: 422 naming the row, not OverflowError
        row = {"zone": "z01", "feature": "traffic", "time": "0001-01-01T00:30:00+01:00",
               "value": 1}
        answer = client.post("/cities/synthetic/observations", json={"rows": [row]})
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"][-1] == "time"
        # a non-finite parameter (Python's JSON reads Infinity): 422, not a failed hash
        answer = client.post("/cities/synthetic/whatif", content='{"budget": 3, "params": '
                             '{"alpha": Infinity}}', headers={"Content-Type": "application/json"})
        assert answer.status_code == 422
        assert client.post("/cities/synthetic/whatif",
                           json={"budget": 3, "units": 0}).status_code == 422
        # times: city-clock times without an offset, recorded moments in UTC with "Z"
        city = client.get("/cities/synthetic").json()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", city["first_time"])
        made = client.post("/cities/synthetic/decisions", json={"budget": 2, "horizon": 1})
        assert made.json()["created_at"].endswith("Z")
        assert made.json()["forecast"]["start"].count(":") == 2  # no offset
    # a token id past 32 bits names no token: 401 (PostgreSQL raised out-of-range: 500)
    with served.client(f"cf_999999999999_{'x' * 43}") as client:
        assert client.get("/cities").status_code == 401
