"""Small PNG charts for the admin bot (a campaign's last 14 days, a brand's days of stock per cluster).

matplotlib is imported inside the functions, on the first chart asked for, never at start-up: the workers and
the bot stay within their memory budget until someone wants to look rather than read."""
from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(title: str) -> Figure:
    # a bare Figure renders with the Agg canvas: no pyplot, no display, no global state between charts
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), dpi=100)
    fig.suptitle(title, fontsize=11)
    return fig


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.tight_layout()
    fig.savefig(out, format="png")
    return out.getvalue()


def campaign_chart(title: str, days: Sequence[date], spend: Sequence[float], orders: Sequence[int],
                   bids: Sequence[float | None]) -> bytes:
    """Spend (bars, ₽) and orders (line) per day, and the average bid (line, ₽) below."""
    fig = _figure(title)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    labels = [d.strftime("%d.%m") for d in days]
    top.bar(labels, spend, color="#4c72b0", label="spend, ₽")
    top.set_ylabel("spend, ₽")
    twin = top.twinx()
    twin.plot(labels, orders, color="#dd8452", marker="o", label="orders")
    twin.set_ylabel("orders")
    bottom.plot(labels, [b if b is not None else float("nan") for b in bids], color="#55a868", marker=".")
    bottom.set_ylabel("bid, ₽")
    bottom.tick_params(axis="x", labelrotation=45, labelsize=8)
    return _png(fig)


def stock_chart(title: str, clusters: Sequence[str], days_of_stock: Sequence[float], *, low: float = 7.0,
                urgent: float = 3.0) -> bytes:
    """Days of stock per cluster (horizontal bars, red under `urgent`, amber under `low`)."""
    fig = _figure(title)
    ax = fig.subplots()
    capped = [min(d, 60.0) for d in days_of_stock]
    colors = ["#c44e52" if d < urgent else "#dd8452" if d < low else "#55a868" for d in days_of_stock]
    ax.barh(list(clusters), capped, color=colors)
    ax.axvline(low, color="#999999", linestyle="--", linewidth=1)
    ax.set_xlabel("days of stock (capped at 60)")
    ax.invert_yaxis()
    return _png(fig)
