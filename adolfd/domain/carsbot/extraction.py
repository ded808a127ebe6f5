"""Offline extraction of a car-sale ad's fields with regular expressions (seed 004 "AI обработка": extraction).

Fields: make, model, year, price (roubles), mileage (km), city, contact. Russian sellers write prices as
«1 250 000 ₽», «1.25 млн», «850 тыс», «950к», «1 250 000 руб.»; mileage as «85 000 км», «120 тыс. км»,
«пробег 45т.км» or «пробег: 120000». A number is read once: the span a price used is never a year or mileage,
and phone numbers are cut out before prices are looked for. Years are accepted up to `max_year` (the caller's
current year + 1: dealers list next year's model), which keeps this module free of clock reads.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from adolfd.domain.carsbot.vocabulary import CITIES, MAKES, MODELS

MIN_CAR_PRICE = 30_000          # below this a "price" is a part, a deposit or a monthly payment
MIN_YEAR = 1960


@dataclass(frozen=True)
class CarAd:
    make: str | None = None
    model: str | None = None
    year: int | None = None
    price_rub: int | None = None
    mileage_km: int | None = None
    city: str | None = None
    contact: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def fold(text: str) -> str:
    """Lower case with ё folded to е and exotic spaces made plain: every rule matches on this form."""
    return (text.lower().replace("ё", "е").replace("\u00a0", " ").replace("\u202f", " ")
            .replace("\u2009", " ").replace("–", "-").replace("—", "-"))


_WORD_EDGE = r"(?<![0-9a-zа-я])"
_WORD_END = r"(?![0-9a-zа-я])"


def _word(form: str) -> str:
    return _WORD_EDGE + re.escape(form).replace(r"\ ", r"\s+") + _WORD_END


_MAKE_FORMS = {form: make for make, forms in MAKES.items() for form in (*forms, make.lower())}
_MAKE_RE = re.compile("|".join(_word(f) for f in sorted(_MAKE_FORMS, key=len, reverse=True)))
_MODEL_RES = {make: re.compile(r"\s*[-,]?\s*(" + "|".join(_word(f) for f in sorted(m, key=len, reverse=True)) + ")")
              for make, m in MODELS.items()}
# a model named without its make («Продам Солярис»): only unambiguous Cyrillic names of 4+ letters
_LONE_MODELS = {form: (make, model) for make, models in MODELS.items() for form, model in models.items()
                if len(form) >= 4 and re.fullmatch(r"[а-я]+", form)}
_LONE_MODEL_RE = re.compile("|".join(_word(f) for f in sorted(_LONE_MODELS, key=len, reverse=True)))
_CITY_FORMS = {form: city for city, forms in CITIES.items() for form in forms}
_CITY_RE = re.compile("|".join(_word(f) for f in sorted(_CITY_FORMS, key=len, reverse=True)))

_PHONE_RE = re.compile(r"(?<![\d])(?:\+\s?7|8|7)[\s\-(]*\d{3}[\s\-)]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}(?!\d)")
_USERNAME_RE = re.compile(r"(?<![\w@])@([A-Za-z][A-Za-z0-9_]{4,31})\b")
_GROUPED = r"\d{1,3}(?:[ .]\d{3})+"
_PRICE_MLN_RE = re.compile(r"(?<![\d.,])(\d{1,3}(?:[.,]\d{1,3})?)\s*(?:млн|миллион[а-я]*|лям[а-я]*)" + _WORD_END)
_PRICE_THOUSANDS_RE = re.compile(
    r"(?<![\d.,])(\d{1,4}(?:[.,]\d)?)\s*(?:тысяч[а-я]*|тыс\.?|т\.\s?р\.?|тр|т\.р|к|k)" + r"(?![0-9a-zа-я])")
_PRICE_FULL_RE = re.compile(rf"(?<![\d+])({_GROUPED}|\d{{5,9}})(?:[.,]\d{{2}})?(?!\d)"
                            r"\s*(₽|руб[а-я]*\.?|р\.|р(?![а-я])|rub)?")
_PRICE_CONTEXT_RE = re.compile(r"(цена|стоимость|прошу|отдам за|за\s*$|price)[^\n\d]{0,12}$")
_KM_AFTER_RE = re.compile(r"^[\s.]*(?:км|km|т\.?\s*км)")
_MILEAGE_KM_RE = re.compile(rf"(?<![\d.,])({_GROUPED}|\d{{1,7}}(?:[.,]\d)?)\s*(тыс[а-я]*\.?\s*|т\.?\s*)?(?:км|km)"
                            + _WORD_END)
_MILEAGE_WORD_RE = re.compile(rf"пробег[а-я]*[\s:\-]*(?:около|всего|~)?\s*({_GROUPED}|\d{{1,7}}(?:[.,]\d)?)"
                              r"\s*(тыс[а-я]*\.?|т\.?)?")
_YEAR_RE = re.compile(r"(?<![\d.,])(19[6-9]\d|20[0-4]\d)(?![\d.,]\d)")
_YEAR_CONTEXT_AFTER = re.compile(r"^\s*(?:г\.?\s*в\.?|г\b|г\.|год|года|гв|г/в|y)")
_YEAR_CONTEXT_BEFORE = re.compile(r"(?:год[а-я]*|г\.?\s*в\.?|выпуска|year)[\s:.\-]*$")


def _grouped(raw: str) -> int:
    """«1 250 000», «1.250.000», «1250000» → 1250000 (a dot between digit triples groups thousands)."""
    return int(re.sub(r"[ .]", "", raw))


def find_contact(text: str) -> str | None:
    """The seller's phone in +7XXXXXXXXXX form, else a Telegram @username."""
    phone = _PHONE_RE.search(text)
    if phone:
        return "+7" + re.sub(r"\D", "", phone.group())[-10:]
    user = _USERNAME_RE.search(text)
    return f"@{user.group(1)}" if user else None


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with the given spans replaced by spaces (same length, so positions keep their meaning)."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def find_price(folded: str) -> tuple[int | None, list[tuple[int, int]]]:
    """Price in roubles and the spans it used. A number is a price when it names millions or thousands, or
    carries a currency, or follows «цена»/«за»; never when it is followed by km or preceded by «пробег»."""
    candidates: list[tuple[int, int, int, int]] = []      # (rank, start, end, roubles); lower rank wins
    for m in _PRICE_MLN_RE.finditer(folded):
        candidates.append((0, m.start(), m.end(), round(float(m.group(1).replace(",", ".")) * 1_000_000)))
    for m in _PRICE_THOUSANDS_RE.finditer(folded):
        if _KM_AFTER_RE.match(folded[m.end():]) or "пробег" in folded[max(0, m.start() - 16):m.start()]:
            continue
        candidates.append((1, m.start(), m.end(), round(float(m.group(1).replace(",", ".")) * 1_000)))
    for m in _PRICE_FULL_RE.finditer(folded):
        if _KM_AFTER_RE.match(folded[m.end():]) or "пробег" in folded[max(0, m.start() - 16):m.start()]:
            continue
        has_currency = m.group(2) is not None
        in_context = _PRICE_CONTEXT_RE.search(folded[max(0, m.start() - 24):m.start()]) is not None
        if has_currency or in_context:
            candidates.append((0 if has_currency else 2, m.start(), m.end(), _grouped(m.group(1))))
    plausible = [c for c in candidates if c[3] >= MIN_CAR_PRICE]
    if not plausible:
        return None, []
    rank, start, end, value = min(plausible, key=lambda c: (c[0], c[1]))
    return value, [(start, end)]


def find_mileage(folded: str) -> tuple[int | None, list[tuple[int, int]]]:
    m = _MILEAGE_KM_RE.search(folded) or _MILEAGE_WORD_RE.search(folded)
    if not m:
        return None, []
    raw, thousands = m.group(1), m.group(2)
    value = _grouped(raw) if re.fullmatch(_GROUPED, raw) else float(raw.replace(",", "."))
    km = round(value * 1000) if thousands else round(value)
    return km, [m.span()]


def find_year(folded: str, max_year: int) -> int | None:
    """A model year: marked by «г.», «год», «г.в.» if any is, else the first plausible one."""
    found: list[tuple[int, int]] = []
    for m in _YEAR_RE.finditer(folded):
        year = int(m.group(1))
        if not MIN_YEAR <= year <= max_year:
            continue
        marked = bool(_YEAR_CONTEXT_AFTER.match(folded[m.end():])
                      or _YEAR_CONTEXT_BEFORE.search(folded[max(0, m.start() - 16):m.start()]))
        found.append((0 if marked else 1, year))
    return min(found, key=lambda f: f[0])[1] if found else None


def find_make_model(text: str, folded: str) -> tuple[str | None, str | None]:
    make_match = _MAKE_RE.search(folded)
    if make_match is None:
        lone = _LONE_MODEL_RE.search(folded)
        if lone is None:
            return None, None
        return _LONE_MODELS[re.sub(r"\s+", " ", lone.group())]
    make = _MAKE_FORMS[re.sub(r"\s+", " ", make_match.group())]
    rest = folded[make_match.end():]
    known = _MODEL_RES.get(make)
    if known is not None:
        m = known.match(rest)
        if m:
            return make, MODELS[make][re.sub(r"\s+", " ", m.group(1))]
    written = re.match(r"[\s,\-]*([A-Za-z0-9][A-Za-z0-9\-]*(?:\s[A-Za-z][A-Za-z0-9\-]*)?)",
                       text[make_match.end():])
    if written and not re.fullmatch(r"(19|20)\d\d", written.group(1)):
        model = written.group(1)
        return make, model if any(c.isupper() or c.isdigit() for c in model) else model.title()
    return make, None


def find_city(folded: str) -> str | None:
    m = _CITY_RE.search(folded)
    return _CITY_FORMS[re.sub(r"\s+", " ", m.group())] if m else None


def extract_ad(text: str, *, max_year: int) -> CarAd:
    """Every field the text states; a field it does not state is None."""
    contact = find_contact(text)
    folded = fold(text)
    # phones, usernames and links are never prices, years or mileage
    noise = [m.span() for m in _PHONE_RE.finditer(folded)] + [m.span() for m in re.finditer(r"\S*[@/]\S*", folded)]
    numbers = _blank(folded, noise)
    price, used = find_price(numbers)
    numbers = _blank(numbers, used)
    mileage, used = find_mileage(numbers)
    numbers = _blank(numbers, used)
    make, model = find_make_model(text, folded)
    return CarAd(make=make, model=model, year=find_year(numbers, max_year), price_rub=price,
                 mileage_km=mileage, city=find_city(folded), contact=contact)
