import json

import numpy as np
import pandas as pd

from tests.conftest import run_cli


def test_demo_writes_a_report(tmp_path):
    out = tmp_path / "report"
    result = run_cli("demo", "--units", "12", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Patrol plan" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["units"] == 12
    table = pd.read_csv(out / "allocation.csv")
    assert len(table) == 24 and table["units"].sum() == 12
    assert table["proportional_units"].sum() == 12

    # the exact plan is at least as good as the proportional rule on the forecast it used
    def covered(units):
        return float((table["forecast"] * (1 - np.exp(-0.5 * units))).sum())

    assert covered(table["units"]) >= covered(table["proportional_units"]) - 1e-9
    assert summary["true_incidents_intercepted_engine"] > 0
    assert (out / "report.md").read_text().startswith("# cityfocus demo")


def test_bad_option_is_one_line_exit_2_and_writes_nothing(tmp_path):
    out = tmp_path / "report"
    result = run_cli("demo", "--units", "-3", "--out", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_the_demo_chain_is_one_library_call():
    from cityfocus.explain.patrol_demo import PARTS, patrol_demo

    seen: list[tuple[int, str]] = []
    demo = patrol_demo(units=12, alpha=0.5, seed=0, progress=lambda d, p: seen.append((d, p)))
    assert seen == [*enumerate(PARTS), (len(PARTS), "")]
    rows = demo.rows
    assert len(rows) == 24 and sum(r["units"] for r in rows) == 12
    assert [r["forecast"] for r in rows] == sorted((r["forecast"] for r in rows), reverse=True)
    # the "why" is the explanation's own one-line reason, not a text of the demo's
    briefs = {z.zone: z.brief for z in demo.explanation.zones}
    assert all(r["why"] == briefs[r["zone"]] for r in rows)
    assert rows[0]["why"].startswith(f"{rows[0]['units']} of 12 units, forecast rank 1 of 24")
    files = demo.files()
    assert set(files) == {"allocation.csv", "summary.json", "report.md"}
    assert json.loads(files["summary.json"]) == demo.summary
    patrolled = [z for z in demo.explanation.zones if z.w > 0]
    assert all(z.text in files["report.md"] for z in patrolled)


def test_one_line_reasons_for_units_and_shares():
    from cityfocus.explain.narrative import ZoneFacts, brief

    def facts(**given):
        base = dict(name="Zone 3", demand=2.62, rank=5, n_zones=6, horizon="over 2 h",
                    target="incidents", w=0.0, budget=4.0, units=True, family="coverage",
                    next_gain=1.0412, last_gain=float("inf"), price=1.0449, gain_at=2.64,
                    lose_at=float("nan"), step=1.0, drivers=[], own_weight=None, recent=None,
                    recent_share=None)
        return ZoneFacts(**{**base, **given})

    assert brief(facts()) == ("none of 4 units, forecast rank 5 of 6: a first unit would "
                              "intercept 1.041 expected incidents; the city-wide price is 1.045")
    assert brief(facts(w=2.0, last_gain=1.5, next_gain=1.0449)) == (
        "2 of 4 units, forecast rank 5 of 6: its last unit intercepts 1.5 expected "
        "incidents, one more would intercept 1.0 (the best extra unit anywhere: the "
        "city-wide price)")
    shares = dict(units=False, budget=1.0, family="log", last_gain=float("nan"))
    assert brief(facts(w=0.25, next_gain=0.5, price=0.5, **shares)).endswith(
        "marginal value 0.50, the city-wide price")
    assert brief(facts(w=0.0, next_gain=0.2, price=0.5, **shares)) == (
        "0.0% of the budget (0 of 1.0), forecast rank 5 of 6: marginal value 0.20 below the "
        "city-wide price 0.50 (at a bound)")
