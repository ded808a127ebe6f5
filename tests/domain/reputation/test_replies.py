"""Offline reply drafts and the auto-approval rule (DOMAIN.md "Reputation")."""
import pytest
from adolfd.domain.reputation.replies import (
    MAX_DRAFT_CHARS,
    PublishAction,
    SellerAnswer,
    decide_publish,
    draft_reply,
    fit_reply,
    greeting,
    quoted_additions,
    same_text,
    should_auto_approve,
)
from adolfd.domain.reputation.review_analysis import Analysis, FeedbackItem, Sentiment, analyze_offline


def item(text="", rating=5, kind="review", author="") -> FeedbackItem:
    return FeedbackItem("wb", kind, "x1", text=text, rating=rating if kind == "review" else None, author=author)


def test_greeting_uses_real_names_only():
    assert greeting("Анна") == "Здравствуйте, Анна!"
    assert greeting("Покупатель") == "Здравствуйте!"
    assert greeting("  ") == "Здравствуйте!"


def test_positive_review_draft_thanks_and_does_not_apologise():
    it = item("Отличное платье", 5, author="Мария")
    text = draft_reply(it, analyze_offline(it))
    assert text.startswith("Здравствуйте, Мария!")
    assert "Спасибо за высокую оценку" in text
    assert "жаль" not in text


def test_negative_review_draft_addresses_each_topic():
    it = item("Брак, и размер маломерит, хочу вернуть", 1)
    text = draft_reply(it, analyze_offline(it))
    assert "жаль" in text
    assert "брак" in text.lower()
    assert "таблицей размеров" in text
    assert "возврат" in text


def test_question_draft_without_known_topic_promises_follow_up():
    it = item("Из какой страны товар?", kind="question")
    text = draft_reply(it, analyze_offline(it))
    assert "Спасибо за ваш вопрос" in text and "уточним" in text


def test_question_draft_answers_known_topic():
    it = item("Какой размер взять?", kind="question")
    assert "таблица размеров" in draft_reply(it, analyze_offline(it))


def test_brief_instructions_drop_topic_lines():
    it = item("Брак, верну", 1)
    analysis = analyze_offline(it)
    full, short = draft_reply(it, analysis), draft_reply(it, analysis, "Сделай короче")
    assert len(short) < len(full)
    assert "возврат" not in short


def test_quoted_text_is_included_verbatim():
    it = item("Хорошо", 5)
    text = draft_reply(it, analyze_offline(it), 'добавь «Дарим промокод OHANA10 на следующий заказ»')
    assert "Дарим промокод OHANA10 на следующий заказ." in text
    assert text.endswith("Будем рады видеть вас снова!")
    assert quoted_additions('say "a" and “b”') == ["a", "b"]


def test_fit_reply_cuts_at_sentence_end_and_rejects_empty():
    long = "Спасибо за отзыв. " * 200
    cut = fit_reply(long)
    assert len(cut) <= MAX_DRAFT_CHARS and cut.endswith(".")
    with pytest.raises(ValueError, match="too short"):
        fit_reply(" ")


@pytest.mark.parametrize(
    "rating, sentiment, escalate, kind, enabled, expected",
    [
        (5, Sentiment.POSITIVE, False, "review", True, True),
        (5, Sentiment.POSITIVE, False, "review", False, False),   # setting off (default)
        (4, Sentiment.POSITIVE, False, "review", True, False),    # 5 stars only
        (5, Sentiment.NEUTRAL, False, "review", True, False),     # positive only
        (5, Sentiment.POSITIVE, True, "review", True, False),     # never an escalated item
        (None, Sentiment.POSITIVE, False, "question", True, False),
    ],
)
def test_auto_approval_rule(rating, sentiment, escalate, kind, enabled, expected):
    analysis = Analysis(sentiment, escalate=escalate)
    assert should_auto_approve(item("", rating, kind), analysis, enabled) is expected


def test_decide_publish_sends_when_nothing_is_there():
    assert decide_publish([], "Спасибо!", doubtful_attempts=0) is PublishAction.PUBLISH
    assert decide_publish([], "Спасибо!", doubtful_attempts=3) is PublishAction.PUBLISH


def test_decide_publish_confirms_any_answer_after_an_attempt_of_unknown_outcome():
    # an earlier attempt timed out or its worker died; the marketplace may have trimmed or moderated the text
    answers = [SellerAnswer("Спасибо за отзыв (отредактировано модератором)", "c1")]
    assert decide_publish(answers, "Спасибо за отзыв!", doubtful_attempts=1) is PublishAction.CONFIRM


def test_decide_publish_confirms_our_own_text_before_any_attempt():
    answers = [SellerAnswer("  спасибо   ЗА отзыв! ")]
    assert decide_publish(answers, "Спасибо за отзыв!", doubtful_attempts=0) is PublishAction.CONFIRM


def test_decide_publish_skips_an_answer_written_elsewhere():
    answers = [SellerAnswer("Ответ менеджера из личного кабинета")]
    assert decide_publish(answers, "Спасибо за отзыв!", doubtful_attempts=0) is PublishAction.SKIP


def test_same_text_ignores_spacing_and_case_only():
    assert same_text("A  b\nc", "a B c")
    assert not same_text("a b c", "a b c d")


def test_decide_publish_after_refused_attempts_does_not_claim_a_managers_answer():
    # two attempts refused outright (4xx): nothing of ours can be on the marketplace
    answers = [SellerAnswer("Ответ менеджера из личного кабинета", "m1")]
    assert decide_publish(answers, "Спасибо за отзыв!", doubtful_attempts=0) is PublishAction.SKIP
