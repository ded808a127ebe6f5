"""Cleaning customers' text of what PostgreSQL, JSON or a terminal refuse (adolfd.domain.reputation.outside_text)."""
import json

from adolfd.outside_text import REPLACEMENT, clean_json, clean_text


def test_nul_and_controls_are_dropped_lone_surrogates_replaced():
    assert clean_text("ok\x00ay") == "okay"
    assert clean_text("a\ud800b") == f"a{REPLACEMENT}b"
    assert clean_text("\x1b[31mred\x1b[0m") == "[31mred[0m"          # no terminal escape survives
    assert clean_text("line\nnext\ttab\r") == "line\nnext\ttab\r"
    assert clean_text("Отлично 😀 ♥") == "Отлично 😀 ♥"
    cleaned = clean_text(json.loads('"\\udc80 \\u0000 x"'))
    cleaned.encode("utf-8")                                             # encodable: PostgreSQL can store it


def test_clean_json_names_the_changed_paths():
    raw = {"id": "a1", "text": "bad\x00", "answer": {"text": "\ud800"}, "photos": ["ok", "x\x07"], "n": 5,
           "k\x00ey": None}
    cleaned, changed = clean_json(raw)
    assert cleaned == {"id": "a1", "text": "bad", "answer": {"text": REPLACEMENT}, "photos": ["ok", "x"], "n": 5,
                       "key": None}
    assert changed == ["text", "answer.text", "photos[1]", "key"]
    assert clean_json({"id": "a1", "text": "fine"}) == ({"id": "a1", "text": "fine"}, [])
