"""The bot's PNG charts, and matplotlib loaded only when one is asked for."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from .conftest import ADMIN

pytestmark = pytest.mark.usefixtures("fast_chats")
PNG = b"\x89PNG\r\n\x1a\n"


def test_the_daemon_does_not_load_matplotlib_until_a_chart_is_asked_for() -> None:
    code = ("import sys, adolfd.admin.cli, adolfd.admin.bot.app, adolfd.workers.marketing.bot, "
            "adolfd.workers.logistic.bot, adolfd.workers.marketing.health; "
            "from adolfd.modules import MODULES; [m.bot_router() for m in MODULES if m.bot_router]; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib loaded at import'; "
            "from adolfd.admin.charts import stock_chart; stock_chart('t', ['a'], [1.0]); "
            "assert 'matplotlib' in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


async def test_campaign_and_stock_charts_arrive_as_photos(ops, bot, say, replies, fake):
    today = ops.clock.now().astimezone(ops.settings.tz).date()
    campaign = await ops.db.fetchval(
        "INSERT INTO marketing_campaigns (brand_id, marketplace, external_id, name, max_bid) "
        "VALUES ('ohana_market', 'ozon', '9100001', 'Весна', 100) RETURNING id")
    await ops.db.executemany(
        "INSERT INTO marketing_stats_daily (campaign_id, marketplace, brand_id, stat_date, spent, orders) "
        "VALUES ($1, 'ozon', 'ohana_market', $2, $3, $4)",
        [(campaign, today - timedelta(days=n), 100 + n, n % 3) for n in range(14)])
    await ops.db.execute(
        "INSERT INTO cluster_stock_snapshots (brand_id, slot, sku, cluster_id, article, cluster_name, fbo_stock, "
        "in_transit, ordered_units_28d, avg_daily_sales, captured_at) VALUES "
        "('ohana_market', now(), 1, 1, 'A', 'Москва', 10, 0, 28, 1, now()), "
        "('ohana_market', now(), 1, 2, 'A', 'Урал', 40, 0, 28, 2, now())")
    await say(f"/chart {campaign}")
    [photo] = await replies(ADMIN, 1)
    assert photo.method == "sendPhoto" and photo.document["content"].startswith(PNG)
    assert "Весна" in photo.text
    await say("/stock_chart ohana_market")
    stock = (await replies(ADMIN, 2))[1]
    assert stock.method == "sendPhoto" and stock.document["content"].startswith(PNG)
    await say("/chart 424242")
    missing = (await replies(ADMIN, 3))[2]
    assert "No campaign 424242" in missing.text
