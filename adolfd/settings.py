"""All configuration, from the environment (ADOLFD_*), an env file, or systemd credentials.

No other module reads `os.environ`. Nested values use `__`:
`ADOLFD_CREDENTIALS__OZON_SELLER__OHANA_MARKET__API_KEY=...`. Under systemd, every file in
`$CREDENTIALS_DIRECTORY` named like such a variable (`LoadCredential=ADOLFD_CREDENTIALS__...`) is read as one.
"""
from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from adolfd.errors import BadConfiguration, UnknownBrand
from adolfd.secret_url import DatabaseUrl, RedisUrl, SecretUrl, describe_validation_error

DEFAULT_BRANDS = ["ohana_market", "ohana_kids"]


class RateLimit(BaseModel):
    """Requests per second with a burst, enforced across every process through Redis. `catch_up` (paced
    clients, adolfd.clients.pacing): the share of one interval by which a send may follow the last one sooner,
    so that a send the event loop woke late for does not delay every send after it. Never more than that ahead
    of one send an interval in all; set it only where the server's burst leaves room beyond `burst`."""

    rate: float
    burst: int = 1
    catch_up: float = Field(default=0.0, ge=0.0, lt=1.0)


class ApiCredentials(BaseModel):
    """One brand's account on one API; which fields matter depends on the API."""

    client_id: str = ""
    api_key: SecretStr = SecretStr("")
    client_secret: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")
    business_id: str = ""
    campaign_id: str = ""


class ApiUrls(BaseModel):
    """Base URLs; pointing adolfd at the sandbox is configuration, not code."""

    ozon_seller: str = "https://api-seller.ozon.ru"
    ozon_performance: str = "https://api-performance.ozon.ru"
    wb_feedbacks: str = "https://feedbacks-api.wildberries.ru"
    wb_advert: str = "https://advert-api.wildberries.ru"
    ym: str = "https://api.partner.market.yandex.ru"
    telegram: str = "https://api.telegram.org"
    llm: str = "https://api.openai.com/v1"


# The catch-up of the advertising buckets whose published burst is a token above adolfd's: a quarter of an
# interval of that token makes up a send that left late, the rest stays the reserve for network jitter.
AD_CATCH_UP = 0.25

# Real published limits (docs/external-apis.md); keyed "api:endpoint_class".
DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    "ozon_seller:default": RateLimit(rate=50, burst=10),
    "ozon_seller:analytics_data": RateLimit(rate=1 / 60, burst=1),
    "ozon_seller:analytics_stocks": RateLimit(rate=5, burst=1),
    "ozon_seller:reviews": RateLimit(rate=10, burst=5),
    "ozon_performance:default": RateLimit(rate=5, burst=4, catch_up=AD_CATCH_UP),
    "wb_feedbacks:default": RateLimit(rate=3, burst=6),
    # advertising APIs: one token of burst (or 5 % of rate) below the published limit, so that network
    # jitter between our paced sends and the server's bucket never costs a 429; where that token is there, part of
    # it makes up a send that left late (AD_CATCH_UP)
    "wb_advert:default": RateLimit(rate=5, burst=4, catch_up=AD_CATCH_UP),
    "wb_advert:fullstats": RateLimit(rate=3 / 60 * 0.95, burst=1),
    "wb_advert:auction_nms": RateLimit(rate=0.95, burst=1),
    "wb_advert:bids_min": RateLimit(rate=20 / 60, burst=4, catch_up=AD_CATCH_UP),
    # each bid method has its own 500 a minute
    "ym:bids": RateLimit(rate=500 / 60, burst=4, catch_up=AD_CATCH_UP),
    "ym:bids_info": RateLimit(rate=500 / 60, burst=4, catch_up=AD_CATCH_UP),
    "ym:bids_recommendations": RateLimit(rate=500 / 60, burst=4, catch_up=AD_CATCH_UP),
    "ym:orders_stats": RateLimit(rate=10000 / 3600, burst=4, catch_up=AD_CATCH_UP),
    "ym:default": RateLimit(rate=8, burst=4, catch_up=AD_CATCH_UP),
    # YM goods feedback / questions: per-method hourly quotas (x-resource-limit-config, YM-OA), as a bucket
    # holding one hour's quota
    "ym:goods_feedback": RateLimit(rate=5000 / 3600, burst=5000),
    "ym:goods_feedback_reply": RateLimit(rate=1000 / 3600, burst=1000),
    "ym:goods_questions": RateLimit(rate=1000 / 3600, burst=1000),
    "ym:goods_question_answer": RateLimit(rate=500 / 3600, burst=500),
    "telegram:default": RateLimit(rate=25, burst=5),
    "telegram:chat": RateLimit(rate=1, burst=1),          # Bot FAQ: ~1 message/s per chat
    "telegram:group": RateLimit(rate=20 / 60, burst=1),   # Bot FAQ: 20 messages/minute per group
    "llm:default": RateLimit(rate=5, burst=5),
    "google_sheets:read": RateLimit(rate=1, burst=10),    # Sheets API: 60 reads/minute per user
    "google_sheets:write": RateLimit(rate=1, burst=10),   # Sheets API: 60 writes/minute per user
}


class HttpSettings(BaseModel):
    timeout: float = 30.0
    attempts: int = 4              # tries per call for 429/420 and (idempotent) 5xx/timeouts
    backoff: float = 0.5           # seconds, doubled each try
    max_retry_after: float = 120.0 # a longer server-requested wait fails the call instead
    max_body_bytes: int = 32 * 1024 * 1024  # a larger reply body is a BadResponse
    max_pages: int = 2000          # pages of one listing; more is a BadResponse (a server repeating its cursor)


class LogisticSettings(BaseModel):
    """Thresholds of DOMAIN.md "Logistic" (names as `adolfd.domain.logistic.stock_monitor.LogisticRules`), with
    per-brand overrides: `ADOLFD_LOGISTIC__BRANDS__OHANA_KIDS__TARGET_DAYS=21`."""

    target_days: int = 14
    urgent_days: float = 3
    low_days: float = 7
    velocity_window_days: int = 28
    auto_cancel_hours: float = 48
    brain_stale_hours: float = 26
    anomaly_ratio: float = 0.5
    anomaly_units: int = 100
    retention_days: int = 90
    ozon_stocks_max_age_minutes: int = 60
    readiness_defer_minutes: int = 10
    readiness_max_deferrals: int = 6
    ozon_deficit_grades: list[str] = Field(default_factory=lambda: ["DEFICIT"])
    cache_ttl_seconds: int = 3600
    brands: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def rules(self, brand: str | None = None, timezone: str = "Europe/Moscow"):
        """The domain's frozen rules, with the brand's overrides applied."""
        from adolfd.domain.logistic.stock_monitor import LogisticRules

        merged = LogisticSettings.model_validate({**self.model_dump(), **self.brands.get(brand or "", {}),
                                                  "brands": {}})
        values = merged.model_dump(exclude={"cache_ttl_seconds", "brands", "ozon_deficit_grades"})
        return LogisticRules(**values, timezone=timezone,
                             ozon_deficit_grades=frozenset(g.upper() for g in merged.ozon_deficit_grades))


class CampaignDefaults(BaseModel):
    """Strategy and limits a campaign gets when `sync_campaigns` first sees it, so the bid cycle and
    `check_budgets` work on it from the start; an operator changes them per campaign (`adolfd campaign-set`)."""

    strategy: Literal["position", "drr", "cpo", "manual"] = "drr"
    target_position: int | None = None
    target_drr: float | None = 10.0            # percent: ad spend ÷ revenue
    target_cpo_rub: float | None = None
    max_bid_rub: float = 100.0
    daily_limit_rub: float | None = 3000.0


class MarketingSettings(BaseModel):
    """Thresholds of DOMAIN.md "Marketing" (seed 002); money in roubles here, kopecks in the code."""

    # new campaigns' strategy and limits: `campaign_defaults`, overridden per brand by `brand_campaign_defaults`
    # (ADOLFD_MARKETING__BRAND_CAMPAIGN_DEFAULTS='{"ohana_kids": {"strategy": "position", "target_position": 3}}')
    campaign_defaults: CampaignDefaults = Field(default_factory=CampaignDefaults)
    brand_campaign_defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)

    bid_lock_ttl_seconds: int = 840
    reconcile_after_seconds: int = 120         # a pending/unknown bid change this old is settled from the marketplace
    stats_window_days: int = 7                 # keyword safety and drr/cpo strategies look this far back
    step_percent: float = 5.0                  # one bid step: 5 % of the bid …
    min_step_rub: float = 1.0                  # … at least 1 ₽
    max_change_percent: float = 20.0           # drr / cpo: ±20 % per cycle
    min_change_rub: float = 1.0                # smaller changes are not sent (seed §7.3.1)
    pause_min_clicks: int = 100
    low_ctr_percent: float = 0.5
    low_ctr_min_views: int = 1000
    drr_alert_factor: float = 2.0
    budget_warning_percent: float = 80.0
    resume_budget_paused_next_day: bool = True  # a campaign paused for its daily limit runs again next day
    anomaly_factor: float = 1.5
    anomaly_window_days: int = 7
    trend_days: int = 14
    competitor_bid_max_age_minutes: int = 120
    max_in_flight: int = 16                    # concurrent API calls per marketplace in the bid cycle
    api_slow_ms: int = 2000                    # check_api_health: slower is "slow" (seed §7.4.4)
    stats_retention_days: int = 30             # seed §7.3.6
    bid_history_retention_months: int = 12
    alerts_retention_months: int = 6
    daily_retention_months: int = 24

    def defaults_for(self, brand: str) -> CampaignDefaults:
        """The brand's new-campaign defaults: the global ones with the brand's overrides."""
        return CampaignDefaults.model_validate({**self.campaign_defaults.model_dump(),
                                                **self.brand_campaign_defaults.get(brand, {})})


class ReputationSettings(BaseModel):
    """Thresholds of DOMAIN.md "Reputation"."""

    auto_approve: bool = False                 # 5-star positive reviews publish without review
    breaker_failures: int = 5
    breaker_cooldown_seconds: int = 300
    breaker_probe_timeout_seconds: int = 600   # a half-open probe not heard of for this long is presumed dead
    publish_max_tries: int = 5
    publish_lease_seconds: int = 600           # a `publishing` claim older than this belonged to a dead worker
    resume_after_seconds: int = 120            # an item this long in new/analyzed/approved, no job queued: resumed
    archive_after_days: int = 365
    initial_lookback_days: int = 14            # first poll of a platform reaches back this far
    cursor_overlap_minutes: int = 60           # each poll re-reads this much before its cursor (late indexing)
    sweep_interval_minutes: int = 60           # this often a poll reads the whole lookback (items shown late)
    sweep_lookback_days: int = 30              # how far a sweep reads back (at most 30: YM's question window)
    page_size: int = 100                       # items per list request (capped by each API's maximum)
    office_ttl_seconds: int = 180              # Office Dashboard: an agent key expires after 3 missed heartbeats


class WatcherSettings(BaseModel):
    """Watcher (seed 001; DOMAIN.md "Watcher"); retention days are the jobs' arguments."""

    offline_after_seconds: int = 180           # no heartbeat this long → offline, tasks handed back
    reclaim_idle_ms: int = 60_000              # a stream entry unacknowledged this long belonged to a dead consumer
    office_ttl_seconds: int = 180
    sandbox_agents_per_marketplace: int = 2    # the simulated fleet `adolfd sandbox` runs (0: none)
    sandbox_heartbeat_seconds: float = 30.0


class LLMSettings(BaseModel):
    """LLM provider (adolfd/clients/llm.py); base URL is `api_urls.llm`, retries follow `http`."""

    provider: str = "offline"       # offline | http
    model: str = "gpt-4o-mini"
    api_key: SecretStr = SecretStr("")
    timeout: float = 30.0
    temperature: float = 0.2
    json_mode: bool = True          # send response_format={"type": "json_object"}


class AlertChatSettings(BaseModel):
    """A chat that receives alerts as one role of seed 001 §7.4 (manager, senior, director, admin); a manager
    is bound to a brand or `all`. `modules` and `min_severity` narrow it further (docs/operations.md)."""

    chat_id: int
    role: Literal["manager", "senior", "director", "admin"]
    brand: str = "all"
    modules: list[str] = Field(default_factory=list)
    min_severity: Literal["info", "low", "medium", "warning", "high", "critical"] = "info"
    name: str = ""


class CarsbotSettings(BaseModel):
    """Carsbot (seed 004; docs/carsbot.md): its own bot, the operator's spreadsheet, the channels, retention."""

    bot_token: SecretStr = SecretStr("")
    target_channel_id: int = 0                 # our car-ads channel, where ads are published
    private_channel_id: int = 0                # the subscribers' private channel
    spreadsheet_id: str = ""
    channels_tab: str = "Каналы"
    subscribers_tab: str = "Подписчики"
    analytics_tab: str = "Аналитика"
    service_account_json: SecretStr = SecretStr("")   # the Google key file's JSON (a systemd credential)
    sheets_url: str = "https://sheets.googleapis.com"
    album_wait_seconds: float = 3.0            # an album's updates arrive apart; process it after this
    llm_retry_max_seconds: float = 900.0       # an LLM outage: process_post_task retries at most this far apart
    publish_lease_seconds: int = 600
    analytics_days: int = 30
    posts_retention_days: int = 90
    stats_retention_days: int = 30


class OpsSettings(BaseModel):
    """Telegram admin bot and alert delivery (`adolfd bot`)."""

    bot_token: SecretStr = SecretStr("")
    admin_ids: list[int] = Field(default_factory=list)
    alert_chats: list[AlertChatSettings] = Field(default_factory=list)
    delivery_interval_seconds: float = 10.0    # the bot delivers pending alerts this often
    delivery_batch: int = 500                  # alerts routed per pass
    poll_timeout_seconds: int = 30             # getUpdates long-poll wait


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ADOLFD_", env_nested_delimiter="__", extra="ignore", case_sensitive=False
    )

    # secret types: str()/repr() mask the password; `.get_secret_value()` is the URL (adolfd/secret_url.py)
    redis_url: RedisUrl = SecretUrl("redis://127.0.0.1:6379/0")
    database_url: DatabaseUrl = SecretUrl("postgresql://postgres@127.0.0.1:5432/adolfd")
    db_pool_size: int = 10
    timezone: str = "Europe/Moscow"
    brands: list[str] = Field(default_factory=lambda: list(DEFAULT_BRANDS))
    environment: str = "production"           # production | demo | test
    log_level: str = "info"

    # worker runtime
    event_loop: str = "auto"                  # auto (uvloop if installed) | uvloop | asyncio
    poll_delay: float = 0.5                   # safety-net poll; enqueues and cron fires wake workers at once
    cron: bool = True                         # this process fires the schedule's rows (each fire is claimed once)
    queue_read_limit: int = 500
    max_jobs: int = 20
    concurrency: dict[str, int] = Field(default_factory=dict)   # "<module>_<queue>" -> jobs at once (per process)
    drain_seconds: float = 300.0              # SIGTERM: wait this long for running jobs, then hand them back
    heartbeat_seconds: float = 5.0            # liveness: a worker silent 3 periods + 2 sweeps is dead, its jobs freed
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9108                  # 0 = no /metrics and /healthz; groups get port + index
    missed_run_grace_hours: float = 6.0
    report_dir: Path = Path("var/reports")

    api_urls: ApiUrls = Field(default_factory=ApiUrls)
    credentials: dict[str, dict[str, ApiCredentials]] = Field(default_factory=dict)  # api -> brand -> creds
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)                  # overrides
    http: HttpSettings = Field(default_factory=HttpSettings)

    logistic: LogisticSettings = Field(default_factory=LogisticSettings)
    marketing: MarketingSettings = Field(default_factory=MarketingSettings)
    reputation: ReputationSettings = Field(default_factory=ReputationSettings)
    watcher: WatcherSettings = Field(default_factory=WatcherSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)
    carsbot: CarsbotSettings = Field(default_factory=CarsbotSettings)

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def rate_limit(self, api: str, endpoint_class: str = "default") -> RateLimit:
        merged = {**DEFAULT_RATE_LIMITS, **self.rate_limits}
        for key in (f"{api}:{endpoint_class}", f"{api}:default"):
            if key in merged:
                return merged[key]
        return RateLimit(rate=5, burst=1)

    def account(self, api: str, brand: str) -> ApiCredentials:
        try:
            return self.credentials[api][brand]
        except KeyError:
            raise LookupError(f"no {api} credentials configured for brand {brand!r}") from None

    def resolve_brands(self, brand_id: str = "all") -> list[str]:
        """`all` means every configured brand (DOMAIN.md); an unknown brand is an error, not a no-op."""
        if brand_id == "all":
            return list(self.brands)
        if brand_id not in self.brands:
            raise UnknownBrand(f"unknown brand {brand_id!r}; configured: all, {', '.join(self.brands)}")
        return [brand_id]


def _credential_files() -> dict[str, str]:
    folder = os.environ.get("CREDENTIALS_DIRECTORY")
    if not folder or not Path(folder).is_dir():
        return {}
    found = {}
    for path in Path(folder).iterdir():
        if path.is_file() and path.name.upper().startswith("ADOLFD_"):
            found[path.name.upper()] = path.read_text().strip()
    return found


def load_settings(**overrides) -> Settings:
    """Environment, then systemd credentials on top (they are the more specific source). A bad setting raises
    BadConfiguration naming the variable and the problem, never the value (it may be a secret)."""
    try:
        return _load(**overrides)
    except ValidationError as exc:
        problem = describe_validation_error(exc)
    except SettingsError as exc:   # a nested setting given as a value that is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"ADOLFD_{field.group(1).upper()}" if field else "a nested ADOLFD_ setting"
        problem = f"{name}: not valid JSON (or set its fields one by one: {name}__FIELD=...)"
    # raised outside the handler: no chained exception carries pydantic's text with the value into a traceback
    raise BadConfiguration(problem)


def _load(**overrides) -> Settings:
    creds = _credential_files()
    if creds:
        saved = {k: os.environ.get(k) for k in creds}
        os.environ.update(creds)
        try:
            return Settings(**overrides)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return Settings(**overrides)
