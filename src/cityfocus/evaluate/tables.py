"""Results as Markdown tables (benchmark sections, the signal controllers' summary)."""

from __future__ import annotations


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Lines of a Markdown table, the first column left-aligned and the rest right."""
    align = ["---"] + ["---:"] * (len(header) - 1)
    return [_row(header), _row(align), *(_row(r) for r in rows)]
