"""Daily budget checks (seed 002 §7.3.3): pause at the limit, warn once a day at 80 %."""
from __future__ import annotations

from adolfd.clients.errors import ApiError
from adolfd.domain.marketing.ad_alerts import AdAlert
from adolfd.domain.marketing.budgets import BudgetState, check_budget
from adolfd.engine.context import Ctx
from adolfd.keys import MARKETING_ALERT_JOB
from adolfd.workers.marketing.ad_account import AdAccount
from adolfd.workers.marketing.ad_marketplaces import account
from adolfd.workers.marketing.alerts import marketing_job
from adolfd.workers.marketing.campaigns import CampaignRow, _day_start, load_campaigns
from adolfd.workers.marketing.pausing import pause_campaign, resume_campaign
from adolfd.workers.marketing.rules import budget_rules

# Pauses for the day's spend limit: lifted the next Moscow day.
LIMIT_PAUSES = ("budget", "safety")


@marketing_job(queue="high")
async def check_budgets(ctx: Ctx) -> dict:
    """spent ≥ daily limit → pause + `budget_exceeded`; ≥ 80 % → one `budget_warning` a day (seed §7.3.3).
    Campaigns adolfd paused for their limit on an earlier day run again (setting `resume_budget_paused_next_day`):
    those this job paused (`budget`) and those the bid cycle's safety logic paused (`safety`, seed §7.3.1: its
    only campaign pause is spend at the daily limit), so an Ozon campaign stopped mid-cycle is back the next day
    like a WB or YM one. Operators' and marketplaces' pauses are left alone."""
    started_at = ctx.now().isoformat()
    counts = {"campaigns_checked": 0, "campaigns_paused": 0, "campaigns_resumed": 0, "alerts_sent": 0, "errors": 0}
    today = ctx.now().date()
    rules = budget_rules(ctx.settings.marketing)
    accounts: dict[tuple[str, str], AdAccount] = {}

    def acc_for(c: CampaignRow) -> AdAccount:
        key = (c.marketplace, c.brand_id)
        if key not in accounts:
            accounts[key] = account(ctx, c.marketplace, c.brand_id)
        return accounts[key]

    warned = {r["campaign_id"] for r in await ctx.db.fetch(
        "SELECT DISTINCT campaign_id FROM marketing_alerts WHERE alert_type = 'budget_warning' AND created_at >= $1",
        _day_start(ctx, today))}
    for c in await load_campaigns(ctx.db, today, brand=None, statuses=("active",)):
        if c.brand_id not in ctx.brands():
            continue
        counts["campaigns_checked"] += 1
        try:
            decision = check_budget(c.name, c.spent_today, c.daily_limit, warned_today=c.id in warned, rules=rules)
            if decision.state is BudgetState.EXCEEDED:
                if await pause_campaign(ctx, acc_for(c), c, paused_by="budget"):
                    counts["campaigns_paused"] += 1
                await _enqueue_alert(ctx, c, decision.alert, f"budget_exceeded:{c.id}:{today}")
                counts["alerts_sent"] += 1
            elif decision.state is BudgetState.WARNING:
                await _enqueue_alert(ctx, c, decision.alert, f"budget_warning:{c.id}:{today}")
                counts["alerts_sent"] += 1
        except (ApiError, LookupError) as exc:
            counts["errors"] += 1
            ctx.log.error("budget_check_failed", campaign=c.id, error=str(exc))
    if ctx.settings.marketing.resume_budget_paused_next_day:
        for c in await load_campaigns(ctx.db, today, statuses=("paused",)):
            if c.paused_by not in LIMIT_PAUSES or c.paused_at is None or c.brand_id not in ctx.brands():
                continue
            if c.paused_at.astimezone(ctx.settings.tz).date() >= today:
                continue
            try:
                if await resume_campaign(ctx, acc_for(c), c):
                    counts["campaigns_resumed"] += 1
            except (ApiError, LookupError) as exc:
                counts["errors"] += 1
                ctx.log.error("budget_resume_failed", campaign=c.id, error=str(exc))
    return {"started_at": started_at, **counts, "finished_at": ctx.now().isoformat()}


async def _enqueue_alert(ctx: Ctx, campaign: CampaignRow, alert: AdAlert | None, key: str) -> None:
    """The seed's `send_alert.delay(...)`, once per key (job id and row dedup)."""
    assert alert is not None
    await ctx.enqueue("marketing.send_alert", _job_id=MARKETING_ALERT_JOB.format(key=key), campaign_id=campaign.id,
                      alert_type=alert.alert_type.value, severity=alert.severity.value, title=alert.title,
                      message=alert.message, action_taken=alert.action_taken, details=dict(alert.details),
                      dedup_key=key)
