"""A matplotlib ``Figure`` as PNG bytes, at the one resolution every report figure uses."""

from __future__ import annotations

import io

from matplotlib.figure import Figure

DPI = 110


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes, cropped to what is drawn."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()
