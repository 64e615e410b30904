"""The allocation map: zones at their coordinates, marker size = attention, top zones labelled.

Labels name only the top zones and are placed where they cover no zone's marker and no
other label: candidate spots around the marker are tried nearest first, measured in display
pixels with the renderer; a zone with no free spot is left unlabelled (the summary and the
table still name it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from cityfocus.data.citydata import CityData
from cityfocus.explain.explanation import CityExplanation
from cityfocus.explain.formatting import plural
from cityfocus.explain.png import DPI, png_bytes

# label candidates: directions (degrees, above first) and rings beyond the marker (pixels)
_ANGLES = (90, 270, 0, 180, 45, 135, 315, 225)
_RINGS = (3, 12, 24, 40)
_PAD = 4.0  # pixels kept clear around a label (covers its rounded background box)


@dataclass
class MapLayout:
    """The drawn map and what the label placement decided.

    Attributes:
        figure, axes, markers: the figure, its map axes and the zones' scatter (zone order).
        labels: zone index -> its label.
        unlabelled: top zones for which no free spot was found.
        geographic: whether the zones sit at their coordinates.
    """

    figure: Figure
    axes: Axes
    markers: PathCollection
    labels: dict[int, Annotation] = field(default_factory=dict)
    unlabelled: list[int] = field(default_factory=list)
    geographic: bool = True


def zone_positions(data: CityData) -> tuple[np.ndarray, bool]:
    """``([N, 2] positions, True)`` from lon/lat when every zone has them, else a circle."""
    lat, lon = data.zones["lat"].to_numpy(float), data.zones["lon"].to_numpy(float)
    if np.isfinite(lat).all() and np.isfinite(lon).all():
        return np.column_stack([lon, lat]), True
    angle = 2 * np.pi * np.arange(data.shape[1]) / data.shape[1]
    return np.column_stack([np.cos(angle), np.sin(angle)]), False


def _height(xy: np.ndarray, geographic: bool) -> float:
    """Figure height (inches) for a 7.5-inch-wide map: the map's own aspect plus room for
    the title and axis labels, so a wide city is not drawn in a tall, mostly empty box."""
    if not geographic:
        return 6.8
    wide = np.ptp(xy[:, 0]) * np.cos(np.radians(xy[:, 1].mean()))
    tall = np.ptp(xy[:, 1])
    ratio = float(np.clip(tall / wide, 0.35, 1.4)) if wide > 0 else 1.0
    return float(np.clip(5.5 * ratio + 1.3, 3.5, 8.0))


def marker_boxes(markers: PathCollection, axes: Axes, dpi: float) -> list[Bbox]:
    """Display-pixel bounding box of each scatter marker (circle plus its edge)."""
    centres = axes.transData.transform(markers.get_offsets())
    sizes = np.broadcast_to(markers.get_sizes(), (len(centres),))
    edge = float(np.max(markers.get_linewidth())) / 2
    radii = (np.sqrt(sizes) / 2 + edge) * dpi / 72
    return [Bbox.from_extents(x - r, y - r, x + r, y + r)
            for (x, y), r in zip(centres, radii, strict=True)]


def draw_allocation_map(data: CityData, expl: CityExplanation, most: int = 5) -> MapLayout:
    """Draw the map and label the ``most`` top zones (``expl.top``) without overlaps."""
    xy, geographic = zone_positions(data)
    view = expl.view
    fig = Figure(figsize=(7.5, _height(xy, geographic)), dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if data.adjacency is not None:
        for i, j in zip(*np.nonzero(np.triu(data.adjacency + data.adjacency.T)), strict=True):
            ax.plot(xy[[i, j], 0], xy[[i, j], 1], color="0.85", lw=1, zorder=1)
    size = view.w / max(view.w.max(), 1e-12)
    points = ax.scatter(xy[:, 0], xy[:, 1], s=60 + 900 * size, c=view.demand, cmap="viridis",
                        edgecolors="black", linewidths=0.6, zorder=2)
    fig.colorbar(points, ax=ax, label=f"forecast {expl.target}")
    ax.margins(0.12)
    budget = plural(view.budget, "unit") if view.units else f"a budget of {view.budget:g}"
    amount = "units" if view.units else "share"
    ax.set_title(f"Allocation of {budget} ({view.family}): size = {amount}, "
                 "colour = forecast", fontsize=10)
    if geographic:
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
        ax.set_aspect(1 / np.cos(np.radians(xy[:, 1].mean())))
    else:
        ax.set_axis_off()
    canvas.draw()  # fixes the layout (aspect, colourbar) before labels are measured
    layout = MapLayout(fig, ax, points, geographic=geographic)
    _place_labels(layout, expl, canvas.get_renderer(), most)
    return layout


def _label_text(expl: CityExplanation, index: int) -> str:
    z = next(z for z in expl.zones if z.index == index)
    return f"{z.zone} · {plural(z.w, 'unit')}" if expl.view.units else f"{z.zone} · {z.share:.0%}"


def _place_labels(layout: MapLayout, expl: CityExplanation, renderer: RendererBase,
                  most: int) -> None:
    ax, dpi = layout.axes, layout.figure.dpi
    markers = marker_boxes(layout.markers, ax, dpi)
    frame = ax.get_window_extent(renderer).padded(-1.0)
    taken: list[Bbox] = []
    offsets = np.asarray(layout.markers.get_offsets())
    for z in expl.top(most):
        radius = markers[z.index].width / 2
        label = None
        for ring in _RINGS:
            for angle in _ANGLES:
                label = _try_label(ax, renderer, offsets[z.index], _label_text(expl, z.index),
                                   angle, (radius + ring) * 72 / dpi)
                box = label.get_window_extent(renderer).padded(_PAD)
                clear = (_inside(box, frame) and not any(box.overlaps(m) for m in markers)
                         and not any(box.overlaps(t) for t in taken))
                if clear:
                    break
                label.remove()
                label = None
            if label is not None:
                break
        if label is None:
            layout.unlabelled.append(z.index)
            continue
        taken.append(label.get_window_extent(renderer).padded(_PAD))
        layout.labels[z.index] = label


def _try_label(ax: Axes, renderer: RendererBase, at: np.ndarray, text: str, angle: float,
               distance: float) -> Annotation:
    """A label ``distance`` points from ``at`` in direction ``angle``, aligned away from it."""
    dx, dy = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    ha = "left" if dx > 0.3 else "right" if dx < -0.3 else "center"
    va = "bottom" if dy > 0.3 else "top" if dy < -0.3 else "center"
    label = ax.annotate(text, tuple(at), xytext=(distance * dx, distance * dy),
                        textcoords="offset points", ha=ha, va=va, fontsize=9, zorder=3,
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                              "alpha": 0.85})
    label.draw(renderer)  # positions the text and its background box
    return label


def _inside(box: Bbox, frame: Bbox) -> bool:
    return (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0
            and box.y1 <= frame.y1)


def allocation_map(data: CityData, expl: CityExplanation) -> bytes:
    """The map as PNG bytes (see ``draw_allocation_map``)."""
    return png_bytes(draw_allocation_map(data, expl).figure)
