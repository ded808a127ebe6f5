"""Settings that point adolfd at a running sandbox: base URLs and the sandbox accounts of both brands.

Used by the demo (as ADOLFD_* environment variables) and by the tests (as Settings overrides).
"""
from __future__ import annotations

import json
from typing import Any

from adolfd.sandbox.accounts import ACCOUNTS, CARSBOT_BOT, LLM, TELEGRAM_BOT


def sandbox_api_urls(base_url: str) -> dict[str, str]:
    """Every `api_urls` setting pointed at the sandbox: the fake of `ozon_seller` is served under /ozon-seller."""
    from adolfd.settings import ApiUrls

    return {field: f"{base_url.rstrip('/')}/{field.replace('_', '-')}" for field in ApiUrls.model_fields}


def sandbox_credentials() -> dict[str, dict[str, dict[str, Any]]]:
    creds: dict[str, dict[str, dict[str, Any]]] = {"ozon_seller": {}, "ozon_performance": {}, "wb": {}, "ym": {}}
    for brand, acc in ACCOUNTS.items():
        creds["ozon_seller"][brand] = {"client_id": acc.ozon_seller.client_id, "api_key": acc.ozon_seller.api_key}
        creds["ozon_performance"][brand] = {"client_id": acc.ozon_performance.client_id,
                                            "client_secret": acc.ozon_performance.client_secret}
        creds["wb"][brand] = {"token": acc.wb.token}
        creds["ym"][brand] = {"api_key": acc.ym.api_key, "business_id": str(acc.ym.business_id),
                              "campaign_id": str(acc.ym.campaign_id)}
    return creds


CARSBOT_TARGET_CHANNEL = -1001999999999
CARSBOT_PRIVATE_CHANNEL = -1001888888888


def sandbox_carsbot(base_url: str) -> dict[str, Any]:
    """Carsbot against the sandbox: its own bot, its spreadsheet and service account."""
    from adolfd.sandbox.google_sheets import API, SPREADSHEET_ID, service_account_info

    root = f"{base_url.rstrip('/')}/{API}"
    return {"bot_token": CARSBOT_BOT.token, "spreadsheet_id": SPREADSHEET_ID, "sheets_url": root,
            "service_account_json": json.dumps(service_account_info(f"{root}/token")),
            "target_channel_id": CARSBOT_TARGET_CHANNEL, "private_channel_id": CARSBOT_PRIVATE_CHANNEL}


def sandbox_settings(base_url: str) -> dict[str, Any]:
    """Keyword overrides for `Settings(...)`."""
    return {"api_urls": sandbox_api_urls(base_url), "credentials": sandbox_credentials(),
            "ops": {"bot_token": TELEGRAM_BOT.token}, "carsbot": sandbox_carsbot(base_url),
            "llm": {"api_key": LLM.api_key}}


def sandbox_env(base_url: str) -> dict[str, str]:
    """The same as ADOLFD_* environment variables (for the demo's processes)."""
    env = {f"ADOLFD_API_URLS__{field.upper()}": url for field, url in sandbox_api_urls(base_url).items()}
    for api, brands in sandbox_credentials().items():
        for brand, fields in brands.items():
            for name, value in fields.items():
                env[f"ADOLFD_CREDENTIALS__{api.upper()}__{brand.upper()}__{name.upper()}"] = str(value)
    env["ADOLFD_OPS__BOT_TOKEN"] = TELEGRAM_BOT.token
    env["ADOLFD_LLM__API_KEY"] = LLM.api_key
    for name, value in sandbox_carsbot(base_url).items():
        env[f"ADOLFD_CARSBOT__{name.upper()}"] = str(value)
    return env
