"""Reply rules: the offline provider's drafts and the auto-approval rule (seed 003 §7.3; DOMAIN.md "Reputation").

Every analysed item gets a draft and waits in `pending_review`. The offline provider drafts from templates: a
greeting (by name only when the author name looks like a person's, `reply_guard.looks_like_name`), a core paragraph
chosen by item type and sentiment, one sentence per topic the analysis found (negative and neutral reviews,
questions), and a closing. It cannot follow free-form instructions, so on regeneration it honours two things an
operator can write: a request to be brief ("кратко", "короче", "short") keeps only the greeting, the core sentence
and the closing; text in quotes («…», "…", “…”) is included verbatim before the closing. Everything else in the
instructions is ignored by the offline provider (an LLM provider follows it).

Auto-approval (setting, off by default): only a 5-star review whose analysis is positive and not escalated, and
whose reply passes the content guard (`reply_guard`), is approved and published without a person. Questions are
never auto-approved.

Publishing once: `send_response` claims the item (status `publishing`, with an attempt id) before calling the
marketplace, and before every call looks at the marketplace for a seller answer (`decide_publish`); a claim
left behind by a killed worker is taken over only after its lease expired.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from adolfd.domain.reputation.reply_guard import MIN_REPLY_CHARS, looks_like_name
from adolfd.domain.reputation.review_analysis import Analysis, FeedbackItem, ItemType, Sentiment

MAX_DRAFT_CHARS = 1000  # well inside every marketplace's limit (Ozon questions: 2..3000)

CORE = {
    (ItemType.REVIEW, Sentiment.POSITIVE): (
        "Спасибо за высокую оценку и тёплый отзыв!",
        "Нам очень приятно, что покупка вам понравилась.",
    ),
    (ItemType.REVIEW, Sentiment.NEUTRAL): (
        "Спасибо за отзыв и оценку!",
        "Нам важно ваше мнение — мы учтём ваши замечания.",
    ),
    (ItemType.REVIEW, Sentiment.NEGATIVE): (
        "Нам очень жаль, что покупка вас огорчила.",
        "Спасибо, что рассказали об этом — так мы можем стать лучше.",
    ),
    (ItemType.QUESTION, Sentiment.POSITIVE): ("Спасибо за ваш вопрос!",),
    (ItemType.QUESTION, Sentiment.NEUTRAL): ("Спасибо за ваш вопрос!",),
    (ItemType.QUESTION, Sentiment.NEGATIVE): ("Спасибо за ваш вопрос, нам жаль, что возникли сложности.",),
}

REVIEW_TOPIC_LINES = {
    "safety": "Безопасность покупателей для нас важнее всего: "
              "мы передали ваш отзыв в отдел качества и проверим партию.",
    "defect": "Приносим извинения за брак — такого быть не должно. Мы передали информацию в отдел качества.",
    "return": "Оформить возврат можно в личном кабинете маркетплейса, в разделе покупок.",
    "size": "Чтобы не ошибиться с размером, сверяйтесь, пожалуйста, с таблицей размеров в карточке товара.",
    "quality": "Мы передадим ваши замечания о качестве на производство.",
    "description": "Мы проверим описание и фотографии в карточке товара.",
    "delivery": "Доставку выполняет служба маркетплейса — мы передадим ей ваш отзыв.",
    "packaging": "Мы передадим замечание об упаковке на склад.",
    "price": "Следите за акциями в нашем магазине — мы регулярно снижаем цены.",
}

QUESTION_TOPIC_LINES = {
    "safety": "Товар проходит обязательную сертификацию; документы о соответствии можно запросить у нас.",
    "size": "Подробная таблица размеров есть в карточке товара.",
    "delivery": "Сроки доставки маркетплейс показывает при оформлении заказа.",
    "return": "Вернуть товар можно через личный кабинет маркетплейса в установленный срок.",
    "defect": "Если товар пришёл с дефектом, оформите возврат — мы обязательно разберёмся.",
}

CLOSING = {
    (ItemType.REVIEW, Sentiment.POSITIVE): "Будем рады видеть вас снова!",
    (ItemType.REVIEW, Sentiment.NEUTRAL): "Надеемся, следующая покупка порадует вас больше.",
    (ItemType.REVIEW, Sentiment.NEGATIVE): "Надеемся, что вы дадите нам ещё один шанс.",
}
QUESTION_CLOSING = "Если остались вопросы — пишите, мы с радостью ответим."

_BRIEF = re.compile(r"кратк|короче|коротк|\bshort", re.IGNORECASE)
_QUOTED = re.compile(r"«([^»]+)»|\"([^\"]+)\"|“([^”]+)”")


def greeting(author: str) -> str:
    """By name only when the author name looks like one: it is customer text and may be a link or an ad."""
    name = " ".join(author.split())
    return f"Здравствуйте, {name}!" if looks_like_name(name) else "Здравствуйте!"


def quoted_additions(instructions: str | None) -> list[str]:
    """Text the operator quoted in the instructions, to be included verbatim."""
    if not instructions:
        return []
    return [next(g for g in m.groups() if g).strip() for m in _QUOTED.finditer(instructions)]


def wants_brief(instructions: str | None) -> bool:
    return bool(instructions and _BRIEF.search(instructions))


def draft_reply(item: FeedbackItem, analysis: Analysis, instructions: str | None = None) -> str:
    """The offline provider's draft (module docstring)."""
    key = (item.item_type, analysis.sentiment)
    core = CORE[key]
    brief = wants_brief(instructions)
    parts = [greeting(item.author), core[0]]
    if not brief:
        parts.extend(core[1:])
        if item.item_type is ItemType.QUESTION:
            lines = [QUESTION_TOPIC_LINES[t] for t in analysis.topics if t in QUESTION_TOPIC_LINES]
            parts.extend(lines or ["Мы уточним детали и дополним ответ."])
        elif analysis.sentiment is not Sentiment.POSITIVE:
            parts.extend(REVIEW_TOPIC_LINES[t] for t in analysis.topics if t in REVIEW_TOPIC_LINES)
    parts.extend(text if text.endswith((".", "!", "?")) else text + "." for text in quoted_additions(instructions))
    parts.append(QUESTION_CLOSING if item.item_type is ItemType.QUESTION else CLOSING[key])
    return fit_reply(" ".join(parts))


def fit_reply(text: str, limit: int = MAX_DRAFT_CHARS) -> str:
    """Collapse whitespace and cut at the last sentence end within `limit` characters."""
    text = " ".join(text.split())
    if len(text) < MIN_REPLY_CHARS:
        raise ValueError(f"reply text is too short ({len(text)} characters, at least {MIN_REPLY_CHARS})")
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > 0 else cut.rstrip()


def should_auto_approve(item: FeedbackItem, analysis: Analysis, enabled: bool) -> bool:
    """Auto-approval: setting on, a review, 5 stars, positive, nothing to escalate (DOMAIN.md)."""
    return (
        enabled
        and item.item_type is ItemType.REVIEW
        and item.rating == 5
        and analysis.sentiment is Sentiment.POSITIVE
        and not analysis.escalate
    )


# -- the item lifecycle and the publish-once protocol (seed 003 §7.3 send_response; DOMAIN.md) ---------------
class ItemStatus(StrEnum):
    NEW = "new"                        # stored by a poll, analysis enqueued
    ANALYZED = "analyzed"              # analysis stored, draft being generated
    PENDING_REVIEW = "pending_review"  # draft ready, waits for a person (or auto-approval)
    APPROVED = "approved"              # send_response enqueued
    PUBLISHING = "publishing"          # a send_response holds the claim and may be calling the marketplace
    PUBLISHED = "published"
    FAILED = "failed"                  # last publish attempt failed; retried hourly below the try limit
    SKIPPED = "skipped"                # not to be answered by adolfd (operator, or answered elsewhere)


APPROVABLE = frozenset({ItemStatus.PENDING_REVIEW})
REGENERATABLE = frozenset({ItemStatus.ANALYZED, ItemStatus.PENDING_REVIEW, ItemStatus.FAILED})
SKIPPABLE = frozenset({ItemStatus.NEW, ItemStatus.ANALYZED, ItemStatus.PENDING_REVIEW, ItemStatus.FAILED})
WAITING = frozenset({ItemStatus.NEW, ItemStatus.ANALYZED, ItemStatus.PENDING_REVIEW, ItemStatus.APPROVED})


class PublishAction(StrEnum):
    PUBLISH = "publish"    # nothing on the marketplace: send our reply
    CONFIRM = "confirm"    # our reply is already there (an earlier attempt got through): record it, send nothing
    SKIP = "skip"          # someone else answered (seller portal): record that, send nothing


@dataclass(frozen=True)
class SellerAnswer:
    """A seller's answer as the marketplace shows it (WB answer, Ozon owner comment, YM business comment)."""

    text: str
    answer_id: str = ""


def same_text(a: str, b: str) -> bool:
    """Marketplaces trim and re-space text; compare as they would display it."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def decide_publish(existing: list[SellerAnswer], our_text: str, doubtful_attempts: int) -> PublishAction:
    """What send_response does after looking at the marketplace, before any publishing call.

    Any seller answer while an attempt of ours has an unknown outcome (a timeout, a 5xx, an unreadable answer,
    a killed worker) is taken as ours; publishing again would answer twice. Otherwise — no attempt yet, or
    every earlier attempt refused outright by a 4xx — only an answer with our exact text is ours (a duplicate
    job got there first); any other answer was written elsewhere, and the item is skipped rather than answered
    twice or another person's words recorded as ours.
    """
    if not existing:
        return PublishAction.PUBLISH
    if doubtful_attempts > 0 or any(same_text(a.text, our_text) for a in existing):
        return PublishAction.CONFIRM
    return PublishAction.SKIP
