"""Subscription dates (seed 004 `check_subscriptions_task`, daily 00:00 UTC; DOMAIN.md "Carsbot").

A subscription paid «until 2026-03-01» includes that whole day (UTC, the module's clock): it is closed by the
run at 00:00 of the next day. Expiring soon means within `days` days from today, today included.
"""
from __future__ import annotations

from datetime import date, timedelta


def is_expired(expires_on: date, today: date) -> bool:
    return expires_on < today


def expires_within(expires_on: date, today: date, days: int = 7) -> bool:
    return today <= expires_on < today + timedelta(days=days)


def days_left(expires_on: date, today: date) -> int:
    return max((expires_on - today).days + 1, 0)


def expiry_notice(expires_on: date) -> str:
    return (f"Ваша подписка закончилась {expires_on:%d.%m.%Y}. Доступ к закрытому каналу закрыт. "
            "Чтобы продлить подписку, напишите администратору.")


def status_text(plan: str | None, expires_on: date | None, today: date, active: bool) -> str:
    """The subscriber bot's /status answer."""
    if plan is None or expires_on is None:
        return "Подписка не найдена. Чтобы оформить её, напишите администратору."
    if not active or is_expired(expires_on, today):
        return f"Тариф «{plan}»: подписка закончилась {expires_on:%d.%m.%Y}."
    return (f"Тариф «{plan}»: подписка действует до {expires_on:%d.%m.%Y} включительно "
            f"(осталось дней: {days_left(expires_on, today)}).")


def greeting(telegram_id: int, known: bool) -> str:
    """The subscriber bot's /start answer: a subscriber is greeted; anyone else learns how to subscribe (the
    operator adds their Telegram id to the subscribers sheet)."""
    hello = "Здравствуйте! Это бот подписки на закрытый канал с объявлениями об автомобилях."
    if known:
        return f"{hello} /status — ваша подписка."
    return (f"{hello}\n"
            f"Чтобы подписаться, напишите администратору и сообщите ваш Telegram ID: {telegram_id}.\n"
            "После оплаты бот пришлёт ссылку в канал; /status — ваша подписка.")


def invite_text(link: str, expires_on: date) -> str:
    """The renewal message: a one-person link back into the private channel."""
    return (f"Подписка продлена до {expires_on:%d.%m.%Y} включительно. Вход в закрытый канал по ссылке "
            f"(она действует для одного человека): {link}")
