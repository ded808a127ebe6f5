"""The customers of the sandbox: deterministic reviews and questions that keep arriving on the sandbox clock.

Shared by the fake reviews APIs of Wildberries (`wb_feedbacks`), Ozon (`ozon_reviews`) and Yandex Market
(`ym_feedback`). Each (marketplace, brand, kind) is a stream: when a marketplace is first asked after a reset,
its streams start with `backlog` items already written, then one more arrives every `every_seconds` (plus a
deterministic jitter) of sandbox time, so advancing the clock brings new items. Content (rating, text, author,
product from `catalog`) depends only on the seed and the item's index.

Answers live in the API's sandbox state; every published reply is counted under
`replies_published` as `{api}:{kind}:{external_id}`, which is what tests use to prove "exactly once".

Switches for tests (in the API's state, set with `configure`): `every_seconds`, `backlog`, `broken` (external ids
rendered without a required field, as a malformed entry), `written` (`{"<brand>:<kind>:<index>": {"text": …,
"author": …}}`: what a particular customer wrote instead of the seeded text — hostile text, NUL characters, lone
surrogates, a link as the author name), `late` (`{"<brand>:<kind>:<index>": seconds}`: the marketplace shows the
item only this long after its creation time, as WB does after a slow moderation, keeping the original date). The
core's faults (5xx, timeouts — with `process=True` the reply is stored and only the answer is late —, malformed
bodies) apply to these APIs too.
"""
from __future__ import annotations

import dataclasses
import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from adolfd.sandbox import catalog
from adolfd.sandbox.accounts import BRANDS
from adolfd.sandbox.core import Sandbox

KINDS = ("review", "question")
DEFAULTS: dict[str, Any] = {"every_seconds": 900.0, "backlog": 5, "broken": [], "written": {}, "late": {}}
WRITABLE = ("text", "pros", "cons", "author", "rating")

REVIEW_TEXTS: dict[int, tuple[tuple[str, str, str], ...]] = {
    5: (("Отличное качество, всё понравилось!", "Мягкая ткань", ""),
        ("Заказываю не первый раз, рекомендую.", "Цена и качество", ""),
        ("Размер подошёл идеально, очень довольна.", "", ""),
        ("Доставка быстрая, упаковка целая, спасибо!", "Быстро привезли", "")),
    4: (("Хорошая вещь, но маломерит на размер.", "Приятный материал", "Маломерит"),
        ("Качество хорошее, цвет немного отличается от фото.", "Качество", "Цвет")),
    3: (("Нормально за свою цену.", "", ""),
        ("Ткань тонковата, посмотрим, как будет после стирки.", "", "Тонкая ткань")),
    2: (("После первой стирки полинял, разочарована.", "", "Линяет"),
        ("Швы кривые, качество плохое.", "", "Швы")),
    1: (("Пришёл брак — дырка на рукаве, оформила возврат.", "", "Брак"),
        ("Сильный химический запах, у ребёнка появилась сыпь.", "", "Запах"),
        ("Упаковка порвана, товар грязный, верну обратно.", "", "Упаковка")),
}
RATING_WEIGHTS = ((5, 55), (4, 20), (3, 10), (2, 7), (1, 8))
QUESTIONS = (
    "Какой размер взять на рост 110?",
    "Подойдёт ли для новорождённого?",
    "Из какого материала сделано?",
    "Когда будет снова в наличии?",
    "Можно ли стирать в машинке?",
    "Безопасна ли краска для ребёнка?",
)
AUTHORS = ("Анна", "Мария", "Ольга", "Покупатель", "Екатерина", "Дмитрий", "Ирина", "Светлана")


@dataclass(frozen=True)
class Entry:
    """One customer item, before an API renders it in its own shape."""

    platform: str
    kind: str
    brand: str
    index: int
    created_at: datetime
    rating: int | None
    text: str
    pros: str
    cons: str
    author: str
    article: catalog.Article

    def key(self) -> str:
        return f"{self.kind}:{self.index}"


def settings_of(sandbox: Sandbox, api: str) -> dict[str, Any]:
    state = sandbox.state(api)
    return {**DEFAULTS, **state.get("feed", {})}


def configure(sandbox: Sandbox, api: str, **options: Any) -> dict[str, Any]:
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown feed options: {', '.join(sorted(unknown))}")
    feed = sandbox.state(api).setdefault("feed", {})
    feed.update(options)
    return settings_of(sandbox, api)


def origin(sandbox: Sandbox, api: str) -> datetime:
    """The moment the streams of `api` started: `backlog` intervals before the first request after a reset."""
    state = sandbox.state(api)
    if "origin" not in state:
        opts = settings_of(sandbox, api)
        state["origin"] = sandbox.now() - timedelta(seconds=opts["every_seconds"] * opts["backlog"])
    return state["origin"]


def _rng(*key: object) -> random.Random:
    return random.Random("|".join(str(k) for k in key))


def entry(sandbox: Sandbox, api: str, platform: str, brand: str, kind: str, index: int) -> Entry:
    every = settings_of(sandbox, api)["every_seconds"]
    rng = _rng(sandbox.seed, platform, brand, kind, index)
    created = origin(sandbox, api) + timedelta(seconds=every * index + rng.uniform(0, every / 2))
    articles = catalog.articles(sandbox.seed, brand)
    article = articles[rng.randrange(len(articles))]
    author = rng.choice(AUTHORS)
    if kind == "review":
        rating = rng.choices([r for r, _ in RATING_WEIGHTS], [w for _, w in RATING_WEIGHTS])[0]
        text, pros, cons = rng.choice(REVIEW_TEXTS[rating])
        made = Entry(platform, kind, brand, index, created, rating, text, pros, cons, author, article)
    else:
        made = Entry(platform, kind, brand, index, created, None, rng.choice(QUESTIONS), "", "", author, article)
    written = settings_of(sandbox, api)["written"].get(f"{brand}:{kind}:{index}")
    if written:
        unknown = set(written) - set(WRITABLE)
        if unknown:
            raise ValueError(f"unknown written fields: {', '.join(sorted(unknown))}; expected {', '.join(WRITABLE)}")
        made = dataclasses.replace(made, **written)
    return made


def arrived(sandbox: Sandbox, api: str, platform: str, brand: str, kind: str) -> list[Entry]:
    """Every item of the stream written by now (sandbox time), oldest first."""
    if brand not in BRANDS:
        return []
    options = settings_of(sandbox, api)
    every, late = options["every_seconds"], options["late"]
    now = sandbox.now()
    count = int((now - origin(sandbox, api)).total_seconds() // every) + 1
    return [e for e in (entry(sandbox, api, platform, brand, kind, i) for i in range(max(count, 0)))
            if e.created_at + timedelta(seconds=late.get(f"{brand}:{kind}:{e.index}", 0)) <= now]


def is_broken(sandbox: Sandbox, api: str, external_id: str) -> bool:
    return external_id in settings_of(sandbox, api)["broken"]


# -- identifiers in each marketplace's style -----------------------------------------------------------------

def wb_id(seed: int, brand: str, kind: str, index: int) -> str:
    """20 characters like `G7Y9Y1kBAtKOitoBT_lV`."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    digest = hashlib.sha256(f"wb|{seed}|{brand}|{kind}|{index}".encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:20])


def ozon_id(seed: int, brand: str, kind: str, index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ozon/{seed}/{brand}/{kind}/{index}"))


def ym_id(seed: int, brand: str, index: int) -> int:
    """YM numbers feedbacks and questions in separate sequences: the same number can name one of each."""
    return 700_000_000 + (BRANDS.index(brand) + 1) * 1_000_000 + (seed % 100) * 10_000 + index


def wb_nm_id(article: catalog.Article) -> int:
    return 200_000_000 + article.sku % 10_000_000


# -- answers (per API state) ---------------------------------------------------------------------------------

def answers(sandbox: Sandbox, api: str, kind: str, external_id: str) -> list[dict[str, Any]]:
    return sandbox.state(api).setdefault("answers", {}).get(f"{kind}:{external_id}", [])


def add_answer(sandbox: Sandbox, api: str, kind: str, external_id: str, text: str, answer_id: str,
               **extra: Any) -> dict[str, Any]:
    record = {"id": answer_id, "text": text, "at": sandbox.now(), **extra}
    sandbox.state(api).setdefault("answers", {}).setdefault(f"{kind}:{external_id}", []).append(record)
    sandbox.count("replies_published", f"{api}:{kind}:{external_id}")
    return record


def replies_published(sandbox: Sandbox, api: str, kind: str, external_id: str) -> int:
    return sandbox.counter("replies_published", f"{api}:{kind}:{external_id}")


def next_answer_number(sandbox: Sandbox, api: str) -> int:
    state = sandbox.state(api)
    state["answer_seq"] = state.get("answer_seq", 0) + 1
    return state["answer_seq"]


def iso_z(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
