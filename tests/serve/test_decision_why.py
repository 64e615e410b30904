"""A stored decision's per-zone ``why`` and numbers stay what they were before the
explanation got cheaper (``data/decision_why.json``: recorded on a fresh store with the
synthetic city, before ``zone_briefs`` replaced the full ``explain_allocation``), and equal
the full explanation's ``brief``. Texts, hashes and whole numbers exactly; other numbers to
1e-12 relative (the solver's arithmetic may be reordered for speed, moving the last bit)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from cityfocus.explain.explanation import explain_allocation
from cityfocus.serve.bootstrap import bootstrap
from cityfocus.serve.cities.service import get_city
from cityfocus.serve.decisions.forecast import ForecastCache
from cityfocus.serve.decisions.schemas import DecisionRequest
from cityfocus.serve.decisions.service import decide, normalized, solve_on
from cityfocus.serve.store.engine import open_store

RECORDED = Path(__file__).parent / "data" / "decision_why.json"


def _same(found: Any, recorded: Any) -> bool:
    if isinstance(found, float) or isinstance(recorded, float):
        return math.isclose(found, recorded, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(found, dict) and isinstance(recorded, dict):
        return found.keys() == recorded.keys() and all(
            _same(found[k], recorded[k]) for k in found)
    if isinstance(found, list) and isinstance(recorded, list):
        return len(found) == len(recorded) and all(
            _same(a, b) for a, b in zip(found, recorded, strict=True))
    return bool(found == recorded)


def test_stored_decisions_explain_as_before(tmp_path: Path) -> None:
    store = open_store(tmp_path / "data")
    try:
        bootstrap(store)
        cache = ForecastCache()
        for case in json.loads(RECORDED.read_text()):
            request = DecisionRequest(**case["request"])
            with store.session() as session:
                result, created = decide(session, cache, "synthetic", request)
                assert created
                for key in ("objective", "shadow_price", "inputs_sha256", "zones"):
                    assert _same(result[key], case[key]), (case["request"], key)
                body = normalized(request, get_city(session, "synthetic"))
                cached = cache.get(session, "synthetic", body["horizon"])
            solved = solve_on(cached, body)
            full = explain_allocation(cached.data, cached.data.shape[0], cached.forecast,
                                      solved.problem, solved.allocation)
            by_index = {z.index: z.brief for z in full.zones}
            assert [z["why"] for z in result["zones"]] == [by_index[i] for i in range(24)]
    finally:
        store.close()
