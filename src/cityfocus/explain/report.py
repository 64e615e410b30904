"""The self-contained HTML report: inline CSS, figures as base64 PNG data URIs, no scripts.

Read top down: the summary and the allocation map share the first screen, then the other
figures, then the per-zone table, then how to read it and the run's details. Opening it
needs no network: nothing refers to anything outside the file.
"""

from __future__ import annotations

import base64
import html
import math

from cityfocus.explain.explanation import CityExplanation, ZoneExplanation
from cityfocus.explain.formatting import count, distinct, number
from cityfocus.explain.summary import Summary, summarise

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.2rem auto;
       max-width: 1240px; color: #1d2733; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.meta { color: #5a6675; font-size: .9rem; margin: .2rem 0; }
.lead { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1.5rem;
        align-items: start; margin-top: .8rem; }
@media (max-width: 900px) { .lead { grid-template-columns: minmax(0, 1fr); } }
#summary { font-size: .95rem; }
#summary h2 { font-size: 1rem; margin: .8rem 0 .3rem; }
#summary .headline { font-size: 1.05rem; font-weight: 600; margin-top: 0; }
#summary ol { padding-left: 1.3rem; margin: .3rem 0; } #summary li { margin: .25rem 0; }
.caveat { background: #fff4d6; border-left: 4px solid #d99a00; padding: .45rem .7rem;
          margin: .6rem 0; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #dde3ea; }
#map { margin: 0; }
figcaption { font-size: .85rem; color: #5a6675; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { border-bottom: 1px solid #e3e8ee; padding: .35rem .5rem; vertical-align: top; }
th { background: #f3f6f9; text-align: left; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.none td { color: #7a8591; }
.why { max-width: 34rem; }
"""

_CAPTIONS = {
    "allocation.png": "Allocation: marker size is the attention given, colour the forecast; "
                      "the top zones are labelled.",
    "forecast.png": "Forecast vs actual for the zones given most attention.",
    "attention.png": "Attention rollout: which zones and input steps each forecast draws on.",
    "drivers.png": "Top drivers of the zones given most attention (orange: the zone itself).",
}

_HOW_TO_READ = (
    "Forecasts are summed over the horizon. Drivers come from attention rollout: heads "
    "averaged, residual connections counted as 0.5 A + 0.5 I, temporal layers within each "
    "zone, then spatial layers across zones; a driver's percentage is the share of the "
    "zone's forecast traced to that zone. 'Gain above' and 'lose below' are the forecast "
    "values at which the exact solver would move one unit to or from the zone, everything "
    "else unchanged. Figures that decide an outcome (a unit's gain against the price, a "
    "forecast against its threshold, two plans' scores) carry as many digits as it takes "
    "to tell them apart.")


def _img(name: str, png: bytes, element_id: str | None = None) -> str:
    data = base64.b64encode(png).decode("ascii")
    caption = html.escape(_CAPTIONS.get(name, name))
    ident = f' id="{element_id}"' if element_id else ""
    return (f'<figure{ident}><img alt="{html.escape(name)}" src="data:image/png;base64,'
            f'{data}"><figcaption>{caption}</figcaption></figure>')


def _num(text: str) -> str:
    return f'<td class="num">{"—" if text == "n/a" else text}</td>'


def _row(z: ZoneExplanation, expl: CityExplanation) -> str:
    view = expl.view
    drivers = ", ".join(f"{html.escape(zone)} {w:.0%}" for zone, w in z.drivers)
    held = count(z.w) if view.units else f"{z.share:.1%}"
    demand, gain_at, lose_at = distinct(z.demand, z.gain_at, z.lose_at)
    next_gain, _ = distinct(z.next_gain, view.price)
    actual = number(z.actual) if math.isfinite(z.actual) else "n/a"
    return (f'<tr class="{"given" if z.w > 0 else "none"}"><td>{html.escape(z.zone)}</td>'
            f"{_num(demand)}{_num(actual)}{_num(str(z.rank))}{_num(held)}{_num(next_gain)}"
            f"{_num(gain_at)}{_num(lose_at)}<td>{drivers}</td>"
            f'<td class="why">{html.escape(z.text)}</td></tr>')


def _table(expl: CityExplanation) -> str:
    units = expl.view.units
    head = ["zone", "forecast", "actual", "rank", "units" if units else "share",
            "next unit" if units else "marginal", "gain above", "lose below", "drivers", "why"]
    return ('<table id="zones"><thead><tr>'
            + "".join(f"<th>{html.escape(h)}</th>" for h in head)
            + "</tr></thead><tbody>" + "".join(_row(z, expl) for z in expl.zones)
            + "</tbody></table>")


def _summary(s: Summary) -> str:
    caveats = "".join(f'<p class="caveat">{html.escape(c)}</p>' for c in s.caveats)
    top = "".join(f"<li>{html.escape(line)}</li>" for line in s.top)
    margin = f"<p>{html.escape(s.margin)}</p>" if s.margin else ""
    return (f'<section id="summary"><p class="headline">{html.escape(s.headline)}</p>'
            f"{caveats}<h2>Top zones and why</h2><ol>{top}</ol>{margin}"
            f"<h2>Against the proportional rule</h2><p>{html.escape(s.rule)}</p></section>")


def report_html(expl: CityExplanation, figures: dict[str, bytes], title: str,
                details: dict[str, str]) -> str:
    """The report page.

    Args:
        expl: the explained allocation.
        figures: ``{file name: PNG bytes}`` in display order (``allocation.png``, when there,
            is drawn beside the summary, the rest below it).
        title: the page heading.
        details: facts listed at the end (model, data, command, ...).
    """
    view = expl.view
    rest = {name: png for name, png in figures.items() if name != "allocation.png"}
    lead_map = (_img("allocation.png", figures["allocation.png"], "map")
                if "allocation.png" in figures else "")
    meta = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
                   for k, v in details.items())
    price = (f"City-wide price (value of one more unit of budget): {number(view.price)}; "
             f"objective ({'maximised' if view.sense == 'max' else 'minimised'}) per the "
             f"{view.family} family: {number(float(expl.allocation.objective))}")
    meta += f"<li><b>solver</b>: {html.escape(price)}</li>"
    model = f" Model: {details['model']}." if "model" in details else ""
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{html.escape(expl.data_name)}: {html.escape(expl.target)} '
        f"{html.escape(expl.horizon)}.{html.escape(model)}</p>",
        f'<div class="lead">{_summary(summarise(expl))}{lead_map}</div>',
        *(["<h2>Figures</h2>", *(_img(name, png) for name, png in rest.items())]
          if rest else []),
        "<h2>Why each zone gets what it gets</h2>",
        _table(expl),
        "<h2>How to read this</h2>",
        f"<p>{html.escape(_HOW_TO_READ)}</p>",
        "<h2>Run details</h2>",
        f'<ul class="meta">{meta}</ul>',
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")
