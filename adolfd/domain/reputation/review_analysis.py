"""Review and question analysis rules (seed 003 §7.3 `analyze_item`; DOMAIN.md "Reputation").

An analysis gives a sentiment (positive / neutral / negative), the topics the text speaks of, and whether the
item must be escalated to a person: rating ≤ 2, or the text speaks of defects, returns or safety.

The offline provider decides from the rating and a word list; an LLM provider may decide otherwise, but
`enforce_rules` always re-applies the escalation rule, so a model can never hide a 1-star review or a safety
complaint from the operators.

Word matching works on lower-cased tokens (ё folded to е). A lexicon entry ending in `*` is a prefix
(Russian inflection: `слома*` matches сломался, сломана); any other entry must match the whole token.
A word right after a negation (не, ни, без, not, no, never) is flipped for sentiment and ignored for
topics ("не понравилось" is negative, "без брака" is not a defect); a few words mean a complaint only when
negated ("не работает" is a defect, "не безопасно" a safety issue): praise such as "безопасный для ребёнка"
does not escalate, a complaint does.

Offline sentiment for reviews: rating 4–5 is positive unless negative words outnumber positive ones or the text
reports a defect, return or safety problem (a mixed "5 stars, but it broke" becomes neutral); rating 3 is neutral,
or negative when negative words outnumber positive ones; rating 1–2 is negative. Without a rating (questions) the
word balance decides.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

PLATFORMS = ("wb", "ozon", "ym")
ESCALATING_TOPICS = ("defect", "return", "safety")
LOW_RATING = 2  # rating at or below this escalates (DOMAIN.md)


class ItemType(StrEnum):
    REVIEW = "review"
    QUESTION = "question"


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


@dataclass(frozen=True)
class FeedbackItem:
    """A review or question as the analysis and reply rules see it, whatever the marketplace."""

    platform: str
    item_type: ItemType
    external_id: str
    text: str = ""
    rating: int | None = None
    pros: str = ""
    cons: str = ""
    author: str = ""
    product_name: str = ""
    brand_id: str = ""

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise ValueError(f"unknown platform {self.platform!r}; expected one of {', '.join(PLATFORMS)}")
        try:
            object.__setattr__(self, "item_type", ItemType(self.item_type))
        except ValueError:
            raise ValueError(f"unknown item type {self.item_type!r}; expected review or question") from None
        if self.rating is not None and not (isinstance(self.rating, int) and 1 <= self.rating <= 5):
            raise ValueError(f"rating must be 1..5 or absent, got {self.rating!r} ({self.platform} {self.external_id})")
        if not self.external_id:
            raise ValueError(f"{self.platform} {self.item_type} without an external id")

    @property
    def full_text(self) -> str:
        """Everything the customer wrote: WB and YM split a review into pros, cons and comment."""
        return "\n".join(part for part in (self.text, self.pros, self.cons) if part)


@dataclass(frozen=True)
class Analysis:
    sentiment: Sentiment
    topics: tuple[str, ...] = ()
    escalate: bool = False
    reasons: tuple[str, ...] = ()
    provider: str = "offline"

    def as_json(self) -> dict[str, Any]:
        """The shape stored in `reputation_items.ai_analysis` (analytics reads `->>'sentiment'`)."""
        return {
            "sentiment": self.sentiment.value,
            "topics": list(self.topics),
            "escalate": self.escalate,
            "reasons": list(self.reasons),
            "provider": self.provider,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Analysis:
        return cls(
            sentiment=Sentiment(data["sentiment"]),
            topics=tuple(data.get("topics") or ()),
            escalate=bool(data.get("escalate", False)),
            reasons=tuple(data.get("reasons") or ()),
            provider=str(data.get("provider") or "offline"),
        )


@dataclass(frozen=True)
class Lexicon:
    """Word lists of the offline provider; a setting could replace them per brand."""

    positive: tuple[str, ...]
    negative: tuple[str, ...]
    topics: Mapping[str, tuple[str, ...]]
    negated_topics: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    negations: tuple[str, ...] = ("не", "ни", "без", "нет", "not", "no", "never", "don't", "didn't", "doesn't")


DEFAULT_LEXICON = Lexicon(
    positive=(
        "отличн*", "отлично", "хорош*", "прекрасн*", "рекоменд*", "доволен", "довольн*", "нравится", "нравятся",
        "понрав*", "супер", "класс*", "спасибо", "удобн*", "красив*", "люблю", "восторг*", "шикарн*",
        "качественн*", "мягк*", "идеальн*", "великолепн*", "great", "good", "excellent", "love*", "perfect*",
        "recommend*", "nice", "awesome",
    ),
    negative=(
        "плох*", "ужасн*", "отвратит*", "разочаров*", "кошмар*", "недовол*", "жаль", "хуже", "худш*", "обман*",
        "некачествен*", "отстой", "мерзк*", "жуть", "bad", "terrible", "awful", "disappoint*", "poor*", "worst",
        "horrible",
    ),
    topics={
        "defect": (
            "брак*", "дефект*", "слома*", "сломан*", "порва*", "порван*", "рвется", "треснул*", "трещин*", "разош*",
            "неисправ*", "протека*", "протек*", "отклеил*", "отвалил*", "дырк*", "дыры", "дыра", "полинял*",
            "линяет", "облез*", "defect*", "broken", "broke", "damaged", "torn", "faulty",
        ),
        "return": (
            "возврат*", "вернул*", "вернуть", "верну", "вернем", "обмен*", "обменя*", "refund*", "return*",
        ),
        "safety": (
            "опасн*", "небезопасн*", "токсичн*", "ядовит*", "отравл*", "ожог*", "обжег*", "обжечь", "аллерги*",
            "сыпь", "травм*", "порезал*", "подавил*", "задохн*", "удушь*", "проглот*", "возгоран*", "искрит",
            "задымил*", "химией", "unsafe", "danger*", "toxic", "allerg*", "burn*", "injur*", "rash", "chok*",
        ),
        "size": (
            "размер*", "маломер*", "большемер*", "маловат*", "великоват*", "велик", "велика", "мал", "мала",
            "size*", "fit", "fits",
        ),
        "delivery": ("доставк*", "доставил*", "доставлен*", "курьер*", "привез*", "delivery", "shipping", "courier"),
        "packaging": ("упаков*", "упакован*", "коробк*", "пакет*", "packag*", "box"),
        "price": ("цена", "цену", "цене", "цены", "стоимост*", "дорог*", "дешев*", "переплат*", "price*", "cheap*"),
        "quality": ("качеств*", "материал*", "ткань", "ткани", "шов", "швы", "катышк*", "quality", "material*"),
        "description": ("описани*", "соответств*", "фото", "фотографи*", "description", "pictured"),
    },
    negated_topics={
        "defect": ("работает", "работают", "работал*", "включает*", "заряжает*", "work", "works", "working"),
        "size": ("подошел", "подошла", "подошли", "подходит"),
        "safety": ("безопасн*", "safe"),
    },
)

_TOKEN = re.compile(r"[a-zа-я0-9']+")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("ё", "е"))


def _matches(token: str, entries: Iterable[str]) -> bool:
    for entry in entries:
        if entry.endswith("*"):
            if token.startswith(entry[:-1]):
                return True
        elif token == entry:
            return True
    return False


@dataclass(frozen=True)
class TextSignals:
    positive: int
    negative: int
    topics: tuple[str, ...]


def read_signals(text: str, lexicon: Lexicon = DEFAULT_LEXICON) -> TextSignals:
    """Count sentiment words and collect topics, honouring negation (see module docstring)."""
    positive = negative = 0
    found: list[str] = []
    tokens = tokenize(text)
    for i, token in enumerate(tokens):
        negated = i > 0 and tokens[i - 1] in lexicon.negations
        if _matches(token, lexicon.positive):
            if negated:
                negative += 1
            else:
                positive += 1
        elif _matches(token, lexicon.negative):
            if negated:
                positive += 1
            else:
                negative += 1
        topic_words = lexicon.negated_topics if negated else lexicon.topics
        for topic, words in topic_words.items():
            if _matches(token, words):
                if topic not in found:
                    found.append(topic)
                # "не работает" is a complaint; so are defect, return and safety words on their own
                if negated or topic in ESCALATING_TOPICS:
                    negative += 1
    order = {name: i for i, name in enumerate(lexicon.topics)}
    return TextSignals(positive, negative, tuple(sorted(found, key=lambda t: order.get(t, len(order)))))


def offline_sentiment(rating: int | None, signals: TextSignals) -> Sentiment:
    """Rating first, words second (module docstring)."""
    words_negative = signals.negative > signals.positive
    if rating is None:
        if signals.positive > signals.negative:
            return Sentiment.POSITIVE
        return Sentiment.NEGATIVE if words_negative else Sentiment.NEUTRAL
    if rating >= 4:
        complaint = any(t in ESCALATING_TOPICS for t in signals.topics)
        return Sentiment.NEUTRAL if words_negative or complaint else Sentiment.POSITIVE
    if rating == 3:
        return Sentiment.NEGATIVE if words_negative else Sentiment.NEUTRAL
    return Sentiment.NEGATIVE


def escalation_reasons(rating: int | None, topics: Iterable[str]) -> tuple[str, ...]:
    """Why a person must look at the item: low rating, defects, returns, safety (DOMAIN.md)."""
    reasons: list[str] = []
    if rating is not None and rating <= LOW_RATING:
        reasons.append("low_rating")
    topic_set = set(topics)
    reasons.extend(t for t in ESCALATING_TOPICS if t in topic_set)
    return tuple(reasons)


def analyze_offline(item: FeedbackItem, lexicon: Lexicon = DEFAULT_LEXICON) -> Analysis:
    """The offline provider's analysis: rating and word list only."""
    signals = read_signals(item.full_text, lexicon)
    reasons = escalation_reasons(item.rating, signals.topics)
    return Analysis(
        sentiment=offline_sentiment(item.rating, signals),
        topics=signals.topics,
        escalate=bool(reasons),
        reasons=reasons,
        provider="offline",
    )


def enforce_rules(item: FeedbackItem, analysis: Analysis, lexicon: Lexicon = DEFAULT_LEXICON) -> Analysis:
    """Re-apply the escalation rule to a model's analysis: a model may add reasons, never remove ours.

    The word-list topics of the escalating kinds are merged in too, so a model that misses "брак" still
    escalates. A 1–2 star review a model calls positive is corrected to negative.
    """
    word_topics = [t for t in read_signals(item.full_text, lexicon).topics if t in ESCALATING_TOPICS]
    topics = tuple(dict.fromkeys((*analysis.topics, *word_topics)))
    reasons = tuple(dict.fromkeys((*escalation_reasons(item.rating, topics), *analysis.reasons)))
    sentiment = analysis.sentiment
    if item.rating is not None and item.rating <= LOW_RATING and sentiment is Sentiment.POSITIVE:
        sentiment = Sentiment.NEGATIVE
    return Analysis(
        sentiment=sentiment,
        topics=topics,
        escalate=analysis.escalate or bool(reasons),
        reasons=reasons,
        provider=analysis.provider,
    )
