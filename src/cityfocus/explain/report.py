"""The self-contained HTML report: inline CSS, figures as base64 PNG data URIs, no scripts.

Opening it needs no network: nothing refers to anything outside the file.
"""

from __future__ import annotations

import base64
import html
import math

from cityfocus.explain.explanation import CityExplanation
from cityfocus.explain.narrative import number

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1200px; color: #1d2733; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.meta { color: #5a6675; font-size: .9rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #dde3ea; }
figcaption { font-size: .85rem; color: #5a6675; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { border-bottom: 1px solid #e3e8ee; padding: .35rem .5rem; vertical-align: top; }
th { background: #f3f6f9; text-align: left; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.none td { color: #7a8591; }
.why { max-width: 34rem; }
"""

_CAPTIONS = {
    "allocation.png": "Allocation: marker size is the attention given, colour the forecast.",
    "forecast.png": "Forecast vs actual for the zones given most attention.",
    "attention.png": "Attention rollout: which zones and input steps each forecast draws on.",
    "drivers.png": "Top drivers of the zones given most attention (orange: the zone itself).",
}


def _img(name: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    caption = html.escape(_CAPTIONS.get(name, name))
    return (f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _cell(value: float, fmt: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return '<td class="num">—</td>'
    return f'<td class="num">{format(value, fmt) if fmt else number(value)}</td>'


def report_html(expl: CityExplanation, figures: dict[str, bytes], title: str,
                details: dict[str, str]) -> str:
    """The report page.

    Args:
        expl: the explained allocation.
        figures: ``{file name: PNG bytes}`` in display order.
        title: the page heading.
        details: facts shown under the heading (model, data, command, ...).
    """
    view = expl.view
    amount = "units" if view.units else "share"
    head = ["zone", "forecast", "actual", "rank", amount, "next unit" if view.units
            else "marginal", "gain above", "lose below", "drivers", "why"]
    rows = []
    for z in expl.zones:
        drivers = ", ".join(f"{html.escape(zone)} {w:.0%}" for zone, w in z.drivers)
        held = f"{z.w:.0f}" if view.units else f"{z.share:.1%}"
        rows.append(
            f'<tr class="{"given" if z.w > 0 else "none"}"><td>{html.escape(z.zone)}</td>'
            f"{_cell(z.demand)}{_cell(z.actual)}{_cell(z.rank, 'd')}"
            f'<td class="num">{held}</td>{_cell(z.next_gain)}{_cell(z.gain_at)}'
            f"{_cell(z.lose_at)}<td>{drivers}</td>"
            f'<td class="why">{html.escape(z.text)}</td></tr>')
    meta = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
                   for k, v in details.items())
    price = (f"City-wide price (value of one more unit of budget): {number(view.price)}; "
             f"objective ({'maximised' if view.sense == 'max' else 'minimised'}) per the "
             f"{html.escape(view.family)} family.")
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{html.escape(expl.data_name)}: {html.escape(expl.target)} '
        f"{html.escape(expl.horizon)}. {price}</p>",
        f'<ul class="meta">{meta}</ul>',
        "<h2>Why each zone gets what it gets</h2>",
        '<table id="zones"><thead><tr>'
        + "".join(f"<th>{html.escape(h)}</th>" for h in head)
        + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>",
        "<h2>Figures</h2>",
        *(_img(name, png) for name, png in figures.items()),
        "<h2>How to read this</h2>",
        "<p>Forecasts are summed over the horizon. Drivers come from attention rollout: "
        "heads averaged, residual connections counted as 0.5 A + 0.5 I, temporal layers "
        "within each zone, then spatial layers across zones; a driver's percentage is the "
        "share of the zone's forecast traced to that zone. 'Gain above' and 'lose below' "
        "are the forecast values at which the exact solver would move one unit to or from "
        "the zone, everything else unchanged.</p>",
    ]
    if expl.attribution is None:
        body.insert(4, '<p class="meta">This model has no attention maps: no drivers.</p>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")
