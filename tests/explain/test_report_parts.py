"""The report's summary, map labels, caveats and wording, from hand-made forecasts."""

import re

import numpy as np
import pandas as pd
from matplotlib.transforms import Bbox

from cityfocus.allocate import AllocationProblem, solve
from cityfocus.allocate.rules import proportional
from cityfocus.data.synthetic import synthetic_city
from cityfocus.explain import explain_allocation
from cityfocus.explain.allocation_map import draw_allocation_map
from cityfocus.explain.formatting import distinct
from cityfocus.explain.report import report_html
from cityfocus.explain.summary import NO_GRAPH, summarise
from cityfocus.models.forecast import Forecast
from tests.explain.test_explanation import hand_made

# the page only embeds the bytes; real figures are drawn in test_report_cli
FAKE_FIGURES = {"allocation.png": b"\x89PNG map", "forecast.png": b"\x89PNG forecast"}


def explained(data, at, forecast, budget, units=True, family="coverage", **params):
    problem = AllocationProblem(forecast.mean.sum(0), budget, family, units=units, **params)
    return explain_allocation(data, at, forecast, problem, solve(problem)), problem


def page_text(expl, figures=None):
    page = report_html(expl, figures or {}, "t", {"model": "m"})
    return page, re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", page))


def test_summary_names_budget_objective_top_zones_and_the_rule():
    data, at, forecast = hand_made()
    expl, problem = explained(data, at, forecast, 5, alpha=0.5)
    s = summarise(expl)
    assert s.headline.startswith("5 units across 4 zones: ")
    exact = float(expl.allocation.objective)
    assert distinct(exact, expl.rule.objective)[0] in s.headline
    assert len(s.top) == len(expl.top()) and s.top[0].startswith("z00 (Zone 0): ")
    assert "rank 1 of 4" in s.top[0] and "for the best unit left out" in s.top[0]
    # the rule, recomputed here: whole units in proportion to the same demand
    rule = proportional(problem.demand, 5, units=True)
    assert np.array_equal(expl.rule.w, rule)
    ours, theirs = distinct(exact, float(problem.objective(rule)))
    diff = expl.allocation.w - rule
    if diff.any():
        assert f"scores {ours} vs {theirs} (" in s.rule
        for i in np.flatnonzero(diff):
            sign = "+" if diff[i] > 0 else "-"
            n = int(abs(diff[i]))
            assert f"z{i:02d} ({sign}{n} unit{'s' if n != 1 else ''})" in s.rule
    else:
        assert f"both score {ours}" in s.rule
    assert s.margin is not None and "the best unit left out" in s.margin


def test_rule_difference_is_stated_when_the_plans_differ():
    # one zone with most demand: proportional spreads units the exact plan concentrates
    data, at, forecast = hand_made()
    expl, problem = explained(data, at, forecast, 4, family="linear", cap=10.0)
    rule = proportional(problem.demand, 4, units=True)
    assert not np.array_equal(expl.allocation.w, rule)
    s = summarise(expl)
    assert "The exact plan gives more to z00 (+" in s.rule and "less to " in s.rule
    assert re.search(r"scores [\d.,]+ vs [\d.,]+ \(\+[\d.]+%\)", s.rule), s.rule


def test_shares_compare_in_points_of_the_budget():
    data, at, forecast = hand_made()
    expl, _ = explained(data, at, forecast, 1.0, units=False, family="log", alpha=4.0)
    s = summarise(expl)
    assert s.headline.startswith("A budget of 1.0 across 4 zones")
    assert re.search(r"z00 \(\+[\d.]+ pp\)", s.rule), s.rule
    assert "pp: percentage points of the budget" in s.rule and s.margin is None


def test_plurals_in_the_whole_page_with_one_unit():
    data, at, forecast = hand_made()
    expl, _ = explained(data, at, forecast, 1, alpha=0.5)
    page, text = page_text(expl, FAKE_FIGURES)
    assert "1 unit across 4 zones: 1 zone gets at least 1 unit." in text
    assert "gets 1 of 1 unit:" in text and "gets none of 1 unit:" in text
    assert not re.search(r"\b1 (units|zones)\b", text), re.findall(r".{30}\b1 units.{10}", text)


def test_no_graph_caveat_only_without_a_graph():
    data, at, forecast = hand_made()
    with_graph, _ = explained(data, at, forecast, 3)
    assert with_graph.graph and NO_GRAPH not in page_text(with_graph)[1]
    bare = data.replace(adjacency=None)
    without, _ = explained(bare, at, forecast, 3)
    page, text = page_text(without)
    assert not without.graph and NO_GRAPH in text
    assert page.index('class="caveat"') < page.index('id="zones"')


def test_page_order_summary_map_figures_table():
    data, at, forecast = hand_made()
    expl, _ = explained(data, at, forecast, 5, alpha=0.5)
    page, _ = page_text(expl, FAKE_FIGURES)
    order = [page.index(m) for m in ('id="summary"', 'id="map"', "<h2>Figures</h2>",
                                     'id="zones"', "<h2>Run details</h2>")]
    assert order == sorted(order)


def label_overlaps(layout):
    """(label, other zone) pairs whose label box meets the other zone's marker box, and
    (label, label) pairs that meet, measured in display pixels after a full draw."""
    fig, ax, markers = layout.figure, layout.axes, layout.markers
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    centres = ax.transData.transform(markers.get_offsets())
    radii = (np.sqrt(markers.get_sizes()) / 2 + markers.get_linewidths()[0] / 2) * fig.dpi / 72
    dots = [Bbox.from_extents(x - r, y - r, x + r, y + r)
            for (x, y), r in zip(centres, radii, strict=True)]
    boxes = {i: Bbox.union([label.get_window_extent(renderer),
                            label.get_bbox_patch().get_window_extent(renderer)])
             for i, label in layout.labels.items()}
    on_markers = [(i, j) for i, box in boxes.items() for j, dot in enumerate(dots)
                  if j != i and box.overlaps(dot)]
    on_labels = [(i, j) for i in boxes for j in boxes if i < j and boxes[i].overlaps(boxes[j])]
    return on_markers, on_labels


def crowded_city(n=24, clustered=8):
    """A city whose first ``clustered`` zones sit almost on top of each other."""
    data = synthetic_city(n_zones=n, days=3, seed=2).data
    zones = data.zones.copy()
    lat0, lon0 = zones.loc[0, "lat"], zones.loc[0, "lon"]
    step = 0.0012
    zones.loc[:clustered - 1, "lat"] = lat0 + step * (np.arange(clustered) % 3)
    zones.loc[:clustered - 1, "lon"] = lon0 + step * (np.arange(clustered) // 3)
    data = data.replace(zones=zones)
    at = 48
    rng = np.random.default_rng(0)
    mean = rng.gamma(2.0, 1.0, size=(2, n))
    mean[:, :clustered] *= 4  # the crowded zones get the units
    times = pd.DatetimeIndex(data.timestamps[at:at + 2])
    return data, at, Forecast(mean, times, list(data.zones["id"]), data.timestamps[at - 1])


def test_map_labels_cover_no_other_marker():
    cases = [hand_made(), crowded_city()]
    data, at, forecast = hand_made()
    cases.append((data.replace(zones=data.zones[["id"]]), at, forecast))  # no coordinates
    for data, at, forecast in cases:
        expl, _ = explained(data, at, forecast, 12, alpha=0.5)
        layout = draw_allocation_map(data, expl)
        on_markers, on_labels = label_overlaps(layout)
        assert on_markers == [] and on_labels == []
        top = [z.index for z in expl.top()]
        assert set(layout.labels) | set(layout.unlabelled) == set(top)
        assert len(layout.labels) >= min(len(top), 4), layout.unlabelled
        # only the top zones are labelled, each with its units
        assert set(layout.labels) <= set(top)
        for i, label in layout.labels.items():
            w = int(expl.view.w[i])
            assert label.get_text() == f"z{i:02d} · {w} unit{'s' if w != 1 else ''}"
