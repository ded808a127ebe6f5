"""Offline analysis rules of DOMAIN.md "Reputation": sentiment, topics, escalation."""
import pytest
from adolfd.domain.reputation.review_analysis import (
    Analysis,
    FeedbackItem,
    ItemType,
    Sentiment,
    analyze_offline,
    enforce_rules,
    escalation_reasons,
    offline_sentiment,
    read_signals,
    tokenize,
)


def review(text: str = "", rating: int | None = 5, **kw) -> FeedbackItem:
    return FeedbackItem(platform="wb", item_type=ItemType.REVIEW, external_id="r1", text=text, rating=rating, **kw)


def question(text: str) -> FeedbackItem:
    return FeedbackItem(platform="ozon", item_type="question", external_id="q1", text=text)


@pytest.mark.parametrize(
    "rating, expected",
    [(5, Sentiment.POSITIVE), (4, Sentiment.POSITIVE), (3, Sentiment.NEUTRAL), (2, Sentiment.NEGATIVE),
     (1, Sentiment.NEGATIVE)],
)
def test_rating_decides_sentiment_when_text_is_silent(rating, expected):
    assert analyze_offline(review("Пришло вовремя", rating)).sentiment is expected


def test_five_stars_with_a_defect_is_mixed_and_escalated():
    result = analyze_offline(review("Красивое, но через день сломалась застёжка", 5))
    assert result.sentiment is Sentiment.NEUTRAL
    assert "defect" in result.topics
    assert result.escalate and result.reasons == ("defect",)


def test_three_stars_with_complaints_is_negative():
    assert analyze_offline(review("Ужасное качество, разочарована", 3)).sentiment is Sentiment.NEGATIVE
    assert analyze_offline(review("Нормально, но хотелось лучше", 3)).sentiment is Sentiment.NEUTRAL


@pytest.mark.parametrize("rating", [1, 2])
def test_low_rating_escalates_even_without_words(rating):
    result = analyze_offline(review("", rating))
    assert result.escalate and result.reasons == ("low_rating",)


def test_rating_three_without_complaint_words_does_not_escalate():
    result = analyze_offline(review("Цвет чуть темнее, чем на фото", 3))
    assert not result.escalate
    assert result.topics == ("description",)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("Брак, шов разошёлся", "defect"),
        ("Оформила возврат", "return"),
        ("У ребёнка аллергия после первой носки", "safety"),
        ("Игрушка не безопасна, острые края", "safety"),
        ("Пульт не работает", "defect"),
    ],
)
def test_defect_return_and_safety_escalate(text, reason):
    result = analyze_offline(review(text, 4))
    assert reason in result.reasons
    assert result.escalate


def test_negation_flips_sentiment_and_clears_topics():
    liked_not = analyze_offline(FeedbackItem("ym", "question", "q", text="Мне не понравилось"))
    assert liked_not.sentiment is Sentiment.NEGATIVE
    no_defect = analyze_offline(review("Без брака, швы ровные, ни разу не порвалось", 5))
    assert "defect" not in no_defect.topics
    assert not no_defect.escalate
    assert no_defect.sentiment is Sentiment.POSITIVE


def test_praise_of_safety_does_not_escalate():
    result = analyze_offline(review("Безопасный материал, отличная игрушка", 5))
    assert not result.escalate
    assert result.sentiment is Sentiment.POSITIVE


def test_pros_and_cons_are_read_too():
    result = analyze_offline(review("", 4, pros="Мягкая ткань", cons="Маломерит на размер"))
    assert "size" in result.topics and "quality" in result.topics


def test_question_sentiment_comes_from_words():
    assert analyze_offline(question("Какой размер взять на рост 120?")).sentiment is Sentiment.NEUTRAL
    assert analyze_offline(question("Какой размер взять на рост 120?")).topics == ("size",)
    assert analyze_offline(question("Отличная вещь, будет ли синий цвет?")).sentiment is Sentiment.POSITIVE


def test_yo_is_folded_and_case_ignored():
    assert tokenize("ЁЛКА Ещё") == ["елка", "еще"]
    assert read_signals("ВЕРНУЛА обратно").topics == ("return",)


def test_prefix_entries_do_not_match_inside_words():
    # "верно" must not count as a return, "ценю" not as price
    signals = read_signals("Всё верно, ценю ваш магазин")
    assert "return" not in signals.topics and "price" not in signals.topics


def test_topics_keep_lexicon_order_and_appear_once():
    signals = read_signals("Упаковка порвана, брак, опять брак, и доставка долгая")
    assert signals.topics == ("defect", "delivery", "packaging")


def test_offline_sentiment_without_rating_balances_words():
    assert offline_sentiment(None, read_signals("плохо плохо хорошо")) is Sentiment.NEGATIVE
    assert offline_sentiment(None, read_signals("плохо хорошо")) is Sentiment.NEUTRAL


def test_escalation_reasons_order_and_edges():
    assert escalation_reasons(3, ()) == ()
    assert escalation_reasons(2, ("safety", "defect", "size")) == ("low_rating", "defect", "safety")
    assert escalation_reasons(None, ("return",)) == ("return",)


def test_enforce_rules_corrects_a_model_that_hides_problems():
    item = review("Брак, верну", 1)
    model = Analysis(Sentiment.POSITIVE, topics=("quality",), escalate=False, provider="http:x")
    fixed = enforce_rules(item, model)
    assert fixed.sentiment is Sentiment.NEGATIVE
    assert fixed.escalate
    assert fixed.reasons == ("low_rating", "defect", "return")
    assert fixed.topics == ("quality", "defect", "return")
    assert fixed.provider == "http:x"


def test_enforce_rules_keeps_model_reasons():
    model = Analysis(Sentiment.NEUTRAL, escalate=True, reasons=("counterfeit",))
    fixed = enforce_rules(review("Похоже на подделку", 3), model)
    assert fixed.escalate and fixed.reasons == ("counterfeit",)


def test_analysis_json_round_trip():
    analysis = analyze_offline(review("Брак", 1))
    assert Analysis.from_json(analysis.as_json()) == analysis


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(platform="amazon", item_type="review", external_id="1"), "unknown platform"),
        (dict(platform="wb", item_type="complaint", external_id="1"), "unknown item type"),
        (dict(platform="wb", item_type="review", external_id="1", rating=6), "rating must be 1..5"),
        (dict(platform="wb", item_type="review", external_id="1", rating=0), "rating must be 1..5"),
        (dict(platform="wb", item_type="review", external_id=""), "without an external id"),
    ],
)
def test_bad_items_are_refused_clearly(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FeedbackItem(**kwargs)
