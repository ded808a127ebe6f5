"""Post text, ad identity, sheet rows and subscription dates (seed 004; DOMAIN.md "Carsbot")."""
from __future__ import annotations

from datetime import date

from adolfd.domain.carsbot.answers import (
    CarAdFields,
    classification_prompt,
    extraction_prompt,
    generation_prompt,
    offline_fields,
    offline_post,
    offline_verdict,
    post_of,
)
from adolfd.domain.carsbot.extraction import CarAd, extract_ad
from adolfd.domain.carsbot.post_text import CAPTION_LIMIT, fingerprint, render_post
from adolfd.domain.carsbot.sheets import parse_channels, parse_subscribers
from adolfd.domain.carsbot.subscriptions import expires_within, is_expired, status_text
from adolfd.sandbox.telegram import visible_text

AD = "Продам Toyota Camry 2018 г.\nПробег 85 000 км\nЦена: 2 150 000 ₽\nг. Москва\n+7 (916) 123-45-67 <срочно> & торг"


def test_post_is_valid_telegram_html_with_every_field():
    ad = extract_ad(AD, max_year=2027)
    text = render_post(ad, AD)
    shown = visible_text(text, "HTML")                     # raises like Telegram on bad markup
    for part in ("Toyota Camry, 2018", "2\u202f150\u202f000 ₽", "85\u202f000 км", "Москва", "+79161234567",
                 "<срочно> & торг"):
        assert part in shown


def test_a_caption_fits_telegrams_limit():
    long_text = AD + "\n" + "Отличное состояние, все ТО у дилера. " * 100
    text = render_post(extract_ad(long_text, max_year=2027), long_text, limit=CAPTION_LIMIT)
    assert len(visible_text(text, "HTML")) <= CAPTION_LIMIT and text.endswith("…")


def test_the_same_ad_reposted_elsewhere_has_one_fingerprint():
    repost = "🔥🔥 #продажа\n" + AD.replace("\n", "  \n") + "\n#авто"
    a, b = extract_ad(AD, max_year=2027), extract_ad(repost, max_year=2027)
    assert fingerprint(a, AD) == fingerprint(b, repost)
    other = extract_ad(AD.replace("2 150 000", "2 050 000"), max_year=2027)
    assert fingerprint(other, AD) != fingerprint(a, AD)
    assert fingerprint(CarAd(), "Кто продаёт?") == fingerprint(CarAd(), "кто   продаёт #вопрос")


def test_prompts_carry_the_post_and_offline_answers_follow_the_rules():
    assert post_of(classification_prompt(AD, 2027)) == AD
    assert offline_verdict(classification_prompt(AD, 2027)).is_ad
    fields = offline_fields(extraction_prompt(AD, 2027))
    assert (fields.make, fields.price_rub) == ("Toyota", 2_150_000)
    post = offline_post(generation_prompt(AD, fields, 1024))
    assert "Toyota Camry" in post.text and len(visible_text(post.text, "HTML")) <= 1024
    assert CarAdFields.model_validate({"year": 2020}).year == 2020


def test_channel_rows_garbled_ones_reported_by_row_number():
    read = parse_channels([
        ["Channel ID", "Username", "Title", "Active"],
        ["-1001111111111", "@cars_msk", "Авто Москва", "да"],
        ["", "", "", ""],                                    # blank line: ignored
        ["abc", "@bad", "Плохой id", "да"],
        ["", "@noid", "Без id", ""],
        ["-1002222222222", "", "Авто СПб", "может быть"],
        ["-1001111111111", "", "Повтор", "да"],
        ["-1003333333333", "cars_kzn", "Авто Казань", "нет"],
    ])
    assert read.usable
    assert [(r.channel_id, r.username, r.active) for r in read.rows] == [
        (-1001111111111, "cars_msk", True), (-1003333333333, "cars_kzn", False)]
    assert [i.row for i in read.issues] == [4, 5, 6, 7]
    assert -1002222222222 in read.present                     # a typo elsewhere does not remove the channel


def test_renamed_required_header_makes_the_sheet_unusable():
    read = parse_subscribers([["telegram", "plan", "expires_at"], ["123456789", "pro", "2026-03-01"]])
    assert not read.usable and read.rows == [] and read.issues[0].row == 1
    assert "telegram_id" in read.issues[0].problem


def test_subscriber_dates_in_both_forms_and_a_bad_one():
    read = parse_subscribers([["telegram_id", "username", "plan", "expires_at"],
                              ["123456789", "ivan", "pro", "01.03.2026"],
                              ["223456789", "", "", "2026-03-15"],
                              ["323456789", "", "pro", "31.02.2026"]])
    assert [(r.telegram_id, r.plan, r.expires_on) for r in read.rows] == [
        (123456789, "pro", date(2026, 3, 1)), (223456789, "basic", date(2026, 3, 15))]
    assert [(i.row, "expires_at" in i.problem) for i in read.issues] == [(4, True)]


def test_expiry_includes_the_last_paid_day():
    assert not is_expired(date(2026, 3, 1), date(2026, 3, 1))
    assert is_expired(date(2026, 3, 1), date(2026, 3, 2))
    assert expires_within(date(2026, 3, 7), date(2026, 3, 1)) and not expires_within(date(2026, 3, 8), date(2026, 3, 1))
    assert "действует до 01.03.2026" in status_text("pro", date(2026, 3, 1), date(2026, 2, 28), True)
    assert "закончилась" in status_text("pro", date(2026, 3, 1), date(2026, 3, 2), True)
