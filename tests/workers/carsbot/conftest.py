"""Carsbot job fixtures: the operator's sheet in the sandbox, channel posts as Telegram sends them."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from adolfd.engine.context import Ctx
from adolfd.sandbox.google_sheets import SPREADSHEET_ID, set_tab

CHANNEL = -1001000000001
OTHER_CHANNEL = -1001000000002
AD = "Продам Toyota Camry 2018 г.\nПробег 85 000 км\nЦена: 2 150 000 ₽\nг. Москва\n+7 (916) 123-45-67"
CHANNELS = [["channel_id", "username", "title", "active"],
            [str(CHANNEL), "@auto_msk", "Авто Москва", "да"],
            [str(OTHER_CHANNEL), "@auto_spb", "Авто СПб", "да"]]


@pytest.fixture
def sheet(sandbox):
    """`sheet(tab, rows)`: the operator's tab holds exactly these rows."""
    def write(tab: str, rows: list[list[str]]) -> None:
        set_tab(sandbox.sandbox, SPREADSHEET_ID, tab, rows)
    return write


@pytest.fixture
def channels(res, sheet, run_job):
    async def sync() -> None:
        sheet("Каналы", CHANNELS)
        out = await run_job("carsbot.sync_channels_task")
        assert out["success"], out
    return sync


def message(text: str = AD, *, channel: int = CHANNEL, message_id: int = 1, photo: str | None = None,
            group: str | None = None) -> dict:
    body = {"message_id": message_id, "chat": {"id": channel, "type": "channel", "title": "c"},
            "date": int(datetime(2026, 3, 1, 9, tzinfo=UTC).timestamp())}
    if photo:
        body["photo"] = [{"file_id": photo + "-small", "file_unique_id": "s", "width": 90, "height": 60},
                         {"file_id": photo, "file_unique_id": "b", "width": 1280, "height": 960}]
        if text:
            body["caption"] = text
    else:
        body["text"] = text
    if group:
        body["media_group_id"] = group
    return body


@pytest.fixture
def ctx(res) -> Ctx:
    return Ctx(res)
