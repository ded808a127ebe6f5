"""The post we publish for an ad, and the ad's identity across channels (seed 004 "AI обработка":
generation; DOMAIN.md "Carsbot").

The post is Telegram HTML (every value escaped): a title line with make, model and year, then price, mileage,
city and contact, then the seller's own words shortened to `DESCRIPTION_CHARS`. Money and distances use
Russian digit grouping with a narrow no-break space («1 250 000 ₽»).

`fingerprint` names the car being sold, not the post: the same ad reposted in several channels (with other
emoji, hashtags or line breaks) gets the same fingerprint and is published once.
"""
from __future__ import annotations

import hashlib
import html
import re

from adolfd.domain.carsbot.extraction import CarAd, fold

DESCRIPTION_CHARS = 600
CAPTION_LIMIT = 1024            # Telegram's caption limit for a photo or an album's first item
TEXT_LIMIT = 4096


def grouped(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def _description(source: str, limit: int) -> str:
    lines = [ln.strip() for ln in source.strip().splitlines() if ln.strip()]
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-") + "…"


def render_post(ad: CarAd, source_text: str, *, limit: int = TEXT_LIMIT) -> str:
    """HTML text of the channel post; fits `limit` visible characters (a caption's 1024 for photo posts)."""
    title = " ".join(p for p in (ad.make, ad.model) if p) or "Автомобиль"
    if ad.year:
        title += f", {ad.year}"
    facts = (("💰", f"{grouped(ad.price_rub)} ₽" if ad.price_rub else None),
             ("🛣", f"{grouped(ad.mileage_km)} км" if ad.mileage_km is not None else None),
             ("📍", ad.city), ("📞", ad.contact))
    lines = [f"🚗 <b>{html.escape(title)}</b>", *(f"{icon} {html.escape(value)}" for icon, value in facts if value)]
    head = "\n".join(lines)
    room = limit - len(html.unescape(re.sub(r"<[^>]+>", "", head))) - 2
    description = _description(source_text, min(DESCRIPTION_CHARS, room)) if room > 20 else ""
    return head + (f"\n\n{html.escape(description)}" if description else "")


def fingerprint(ad: CarAd, source_text: str) -> str:
    """Same car, same seller → same value. Without enough fields, the post's words (no emoji, tags, spacing)."""
    if ad.make and ad.price_rub and (ad.contact or (ad.year and ad.mileage_km is not None)):
        key = "|".join(str(v) for v in (ad.make, ad.model or "", ad.year or "", ad.price_rub,
                                         ad.mileage_km if ad.mileage_km is not None else "",
                                         re.sub(r"\D", "", ad.contact or "") or ad.contact or ""))
    else:
        key = " ".join(re.findall(r"[0-9a-zа-я]+", fold(re.sub(r"#\w+", "", source_text))))
    return hashlib.sha256(key.encode()).hexdigest()[:32]
