"""Deterministic sandbox credentials of every external account adolfd uses.

One place for the demo environment, the sandbox's own auth checks and the tests: each brand
(`ohana_market`, `ohana_kids`, DOMAIN.md "Brands") has its own Ozon Seller, Ozon Performance,
Wildberries and Yandex Market account; the Telegram bot is shared. None of these values is a real
secret; they only open the local sandbox.
"""
from __future__ import annotations

from dataclasses import dataclass

BRANDS: tuple[str, ...] = ("ohana_market", "ohana_kids")


@dataclass(frozen=True)
class OzonSellerAccount:
    """Ozon Seller API: headers `Client-Id` (positive integer as text) and `Api-Key`."""

    client_id: str
    api_key: str


@dataclass(frozen=True)
class OzonPerformanceAccount:
    """Ozon Performance API: `POST /api/client/token` with client_credentials → bearer token."""

    client_id: str
    client_secret: str


@dataclass(frozen=True)
class WbAccount:
    """Wildberries: one token in the `Authorization` header (feedbacks, questions, promotion)."""

    token: str


@dataclass(frozen=True)
class YmAccount:
    """Yandex Market Partner API: header `Api-Key`, paths keyed by businessId / campaignId."""

    api_key: str
    business_id: int
    campaign_id: int


@dataclass(frozen=True)
class BrandAccounts:
    brand: str
    ozon_seller: OzonSellerAccount
    ozon_performance: OzonPerformanceAccount
    wb: WbAccount
    ym: YmAccount


@dataclass(frozen=True)
class TelegramBotAccount:
    """Telegram Bot API token (`<bot id>:<secret>`, the shape aiogram validates) and the bot's identity."""

    token: str
    bot_id: int
    username: str


@dataclass(frozen=True)
class LlmAccount:
    """OpenAI-compatible provider: `Authorization: Bearer <api key>`; requests belong to the organization."""

    api_key: str
    organization: str


def _brand_accounts(brand: str, n: int) -> BrandAccounts:
    return BrandAccounts(
        brand=brand,
        ozon_seller=OzonSellerAccount(
            client_id=str(100000 + n),
            api_key=f"sandbox-ozon-seller-{brand}",
        ),
        ozon_performance=OzonPerformanceAccount(
            client_id=f"{2000000 + n}-sandbox@advertising.performance.ozon.ru",
            client_secret=f"sandbox-ozon-performance-secret-{brand}",
        ),
        wb=WbAccount(token=f"sandbox-wb-{brand}"),
        ym=YmAccount(
            api_key=f"ACMA:sandbox-ym-{brand}",
            business_id=3000000 + n,
            campaign_id=4000000 + n,
        ),
    )


ACCOUNTS: dict[str, BrandAccounts] = {
    brand: _brand_accounts(brand, n) for n, brand in enumerate(BRANDS, start=1)
}

TELEGRAM_BOT = TelegramBotAccount(
    token="7000000001:sandbox-telegram-adolfd-bot",
    bot_id=7000000001,
    username="adolfd_sandbox_bot",
)

# carsbot's own bot (seed 004): a separate token, so it polls its own updates beside the admin bot
CARSBOT_BOT = TelegramBotAccount(
    token="7000000002:sandbox-telegram-carsbot",
    bot_id=7000000002,
    username="adolfd_cars_sandbox_bot",
)

TELEGRAM_BOTS: dict[str, TelegramBotAccount] = {bot.token: bot for bot in (TELEGRAM_BOT, CARSBOT_BOT)}


LLM = LlmAccount(api_key="sk-sandbox", organization="org-adolfd-sandbox")


def brand_of_ozon_seller(client_id: str) -> str | None:
    """The brand whose Ozon Seller Client-Id this is, or None."""
    for accounts in ACCOUNTS.values():
        if accounts.ozon_seller.client_id == client_id:
            return accounts.brand
    return None


def brand_of_ozon_performance(client_id: str) -> str | None:
    for accounts in ACCOUNTS.values():
        if accounts.ozon_performance.client_id == client_id:
            return accounts.brand
    return None


def brand_of_wb_token(token: str) -> str | None:
    for accounts in ACCOUNTS.values():
        if accounts.wb.token == token:
            return accounts.brand
    return None


def brand_of_ym_api_key(api_key: str) -> str | None:
    for accounts in ACCOUNTS.values():
        if accounts.ym.api_key == api_key:
            return accounts.brand
    return None
