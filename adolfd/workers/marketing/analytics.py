"""Analytics and recommendations (seed 002 §7.3.4): spend anomalies, 14-day trends, advice per campaign."""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import asyncpg
from pydantic import BaseModel, Field

from adolfd.clients.errors import ApiError
from adolfd.domain.marketing.ad_alerts import AdAlert, AlertType, SafetyAction, Severity
from adolfd.domain.marketing.ad_analytics import (
    CampaignProfile,
    DailyFigures,
    KeywordSummary,
    Priority,
    Recommendation,
    recommend,
    spend_anomaly,
    trend,
)
from adolfd.domain.marketing.ad_money import kopecks_to_roubles
from adolfd.engine.context import Ctx
from adolfd.workers.marketing.alerts import marketing_job, record_alert
from adolfd.workers.marketing.campaigns import CampaignRow, _k, load_campaigns
from adolfd.workers.marketing.rules import analytics_rules


class AdviceItem(BaseModel):
    kind: str
    priority: str = Field(pattern="^(high|medium|low)$")
    text: str


class CampaignAdvice(BaseModel):
    """What the LLM provider is asked to return for one campaign."""

    recommendations: list[AdviceItem] = Field(default_factory=list)


@marketing_job(queue="low")
async def calculate_analytics(ctx: Ctx) -> dict:
    """Yesterday's spend anomalies (> 1.5 × the 7 days before), 14-day trends and recommendations per campaign;
    the LLM provider when one is configured, else (or when it fails) the offline rules."""
    started = ctx.now()
    yesterday = started.date() - timedelta(days=1)
    rules = analytics_rules(ctx.settings.marketing)
    provider = _llm(ctx)
    counts = {"campaigns_analyzed": 0, "recommendations_generated": 0, "anomalies_detected": 0, "errors": 0}
    first = yesterday - timedelta(days=max(rules.trend_days, rules.anomaly_window_days + 1) - 1)
    campaigns = [c for c in await load_campaigns(ctx.db, started.date(), statuses=("active", "paused"))
                 if c.brand_id in ctx.brands()]
    series = await _daily_series(ctx.db, [c.id for c in campaigns], first, yesterday)
    keywords = await _keyword_week(ctx.db, [c.id for c in campaigns], yesterday - timedelta(days=6), yesterday)
    for c in campaigns:
        days = series.get(c.id, [])
        anomaly = spend_anomaly(days, yesterday, rules)
        if anomaly is not None:
            counts["anomalies_detected"] += 1
            await record_alert(ctx, c.ref, None, AdAlert(
                AlertType.SPEND_ANOMALY, Severity.WARNING, SafetyAction.ALERT, f"Аномалия расхода: {c.name}",
                f"{yesterday:%d.%m}: расход {kopecks_to_roubles(anomaly.spent)}₽ — в {anomaly.ratio}× выше "
                f"среднего за 7 дней ({kopecks_to_roubles(int(anomaly.baseline))}₽)",
                {"day": yesterday.isoformat(), "ratio": str(anomaly.ratio)}),
                dedup_key=f"spend_anomaly:{c.id}:{yesterday}")
        campaign_trend = trend(days, yesterday, rules)
        profile = CampaignProfile(c.name, c.strategy, c.daily_limit, c.target_drr, c.target_cpo)
        offline = recommend(profile, campaign_trend, [anomaly] if anomaly else [], keywords.get(c.id, []),
                            [d for d in days if d.day > yesterday - timedelta(days=7)], rules)
        recs, source = list(offline), "offline"
        if provider is not None:
            try:
                advice = await provider.complete_json(_advice_prompt(c, campaign_trend, anomaly, offline),
                                                      CampaignAdvice)
                recs = [Recommendation(a.kind, Priority(a.priority), a.text) for a in advice.recommendations]
                source = provider.name
            except (ApiError, ValueError) as exc:
                counts["errors"] += 1
                ctx.log.warning("llm_recommendations_failed", campaign=c.id, error=str(exc))
        await ctx.db.executemany(
            "INSERT INTO marketing_recommendations (campaign_id, rec_date, kind, priority, text, details, provider) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (campaign_id, rec_date, kind) DO UPDATE SET "
            "priority = EXCLUDED.priority, text = EXCLUDED.text, details = EXCLUDED.details, "
            "provider = EXCLUDED.provider, created_at = now()",
            [(c.id, yesterday, r.kind, r.priority.value, r.text, dict(r.details), source) for r in recs])
        counts["campaigns_analyzed"] += 1
        counts["recommendations_generated"] += len(recs)
    return {"started_at": started.isoformat(), **counts, "provider": provider.name if provider else "offline",
            "finished_at": ctx.now().isoformat(), "status": "completed"}


def _llm(ctx: Ctx) -> Any:
    if ctx.settings.llm.provider == "offline":
        return None
    from adolfd.clients.llm import worker_provider

    return worker_provider(ctx.res)            # the process's one provider, closed with its resources


def _advice_prompt(c: CampaignRow, campaign_trend: Any, anomaly: Any, offline: Sequence[Recommendation]) -> str:
    facts = {
        "campaign": c.name, "marketplace": c.marketplace, "strategy": c.strategy,
        "target_drr_percent": str(c.target_drr) if c.target_drr else None,
        "daily_limit_rub": str(kopecks_to_roubles(c.daily_limit)) if c.daily_limit is not None else None,
        "trend_14_days": {k: {"before": str(v.before), "after": str(v.after), "change_percent": str(v.change_percent),
                              "direction": v.direction.value} for k, v in campaign_trend.figures.items()},
        "spend_anomaly_yesterday": {"ratio": str(anomaly.ratio)} if anomaly else None,
        "rule_based_advice": [{"kind": r.kind, "priority": r.priority.value, "text": r.text} for r in offline],
    }
    return ("Ты аналитик рекламы на маркетплейсах. По фактам ниже дай до 5 рекомендаций для кампании "
            "(kind — короткий код, priority — high|medium|low, text — по-русски). Факты:\n"
            + json.dumps(facts, ensure_ascii=False))


async def _daily_series(db: asyncpg.Pool, campaign_ids: list[int], first: date, last: date,
                        ) -> dict[int, list[DailyFigures]]:
    rows = await db.fetch(
        "SELECT campaign_id, stat_date, views, clicks, spent, orders, revenue FROM marketing_stats_daily "
        "WHERE keyword_id IS NULL AND campaign_id = ANY($1::bigint[]) AND stat_date BETWEEN $2 AND $3 "
        "ORDER BY stat_date", campaign_ids, first, last)
    found: dict[int, list[DailyFigures]] = defaultdict(list)
    for r in rows:
        found[r["campaign_id"]].append(DailyFigures(r["stat_date"], r["views"], r["clicks"], _k(r["spent"]),
                                                    r["orders"], _k(r["revenue"])))
    return found


async def _keyword_week(db: asyncpg.Pool, campaign_ids: list[int], first: date, last: date,
                        ) -> dict[int, list[KeywordSummary]]:
    rows = await db.fetch(
        "SELECT d.campaign_id, k.keyword, k.external_id, SUM(d.views) AS views, SUM(d.clicks) AS clicks, "
        "SUM(d.orders) AS orders, SUM(d.spent) AS spent FROM marketing_stats_daily d "
        "JOIN marketing_keywords k ON k.id = d.keyword_id WHERE d.campaign_id = ANY($1::bigint[]) "
        "AND d.stat_date BETWEEN $2 AND $3 GROUP BY d.campaign_id, k.keyword, k.external_id", campaign_ids, first, last)
    found: dict[int, list[KeywordSummary]] = defaultdict(list)
    for r in rows:
        found[r["campaign_id"]].append(KeywordSummary(r["keyword"] or r["external_id"], int(r["views"]),
                                                      int(r["clicks"]), int(r["orders"]), _k(r["spent"])))
    return found
