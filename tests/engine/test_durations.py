"""Tests for engine.language.durations: parsing and canonical text of durations."""

import pytest

from engine.language.durations import MAX_DAYS, Duration, parse_duration


@pytest.mark.parametrize(
    ("text", "days", "seconds"),
    [
        ("45s", 0, 45),
        ("90m", 0, 5400),
        ("4h", 0, 14400),
        ("2d", 2, 0),
        ("1h30m", 0, 5400),
        ("1d4h", 1, 14400),
        ("1d4h30m15s", 1, 16215),
        ("0d4h", 0, 14400),  # a zero part is fine as long as the total is not zero
        ("  4h ", 0, 14400),  # surrounding blanks are ignored
        ("1h 30m", 0, 5400),  # blanks between parts are tolerated
        ("30d", 30, 0),
        ("100h", 0, 360000),  # hours are not folded into days: they mean different things
    ],
)
def test_parse_valid(text: str, days: int, seconds: int) -> None:
    assert parse_duration(text) == Duration(days=days, seconds=seconds)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("45s", "45s"),
        ("90m", "1h30m"),
        ("4h", "4h"),
        ("2d", "2d"),
        ("1d4h", "1d4h"),
        ("1d270m", "1d4h30m"),
        ("3661s", "1h1m1s"),
        ("100h", "100h"),
    ],
)
def test_canonical_text_round_trips(text: str, canonical: str) -> None:
    duration = parse_duration(text)
    assert str(duration) == canonical
    assert parse_duration(str(duration)) == duration


def test_duration_value_object() -> None:
    assert str(Duration()) == "0s"
    assert Duration().is_zero
    assert Duration(1, 0) == parse_duration("1d")
    assert hash(Duration(0, 60)) == hash(parse_duration("1m"))
    with pytest.raises(ValueError, match="negative"):
        Duration(days=-1)
    with pytest.raises(TypeError):
        Duration(seconds=1.5)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        Duration().days = 3  # type: ignore[misc]  # frozen


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("0h", "zero"),
        ("0s", "zero"),
        ("0d0h", "zero"),
        ("-4h", "negative"),
        ("-1d", "negative"),
        ("1w", "say 5d .*or 7d"),
        ("2w3d", "say 5d .*or 7d"),
        ("4x", "unknown unit 'x'"),
        ("4H", "did you mean 'h'"),
        ("30min", "'m'"),
        ("4 hours", "unknown unit 'hours'"),
        ("1.5h", "fractions"),
        ("1h1h", "repeats the unit 'h'"),
        ("30m1h", "largest to smallest"),
        ("4h1d", "largest to smallest"),
        ("h", "cannot read"),
        ("4h30", "cannot read"),
        ("abc", "cannot read"),
        ("4h!", "cannot read"),
        ("30", "no unit"),
        (f"{MAX_DAYS + 1}d", "too long"),
        (30, "no unit"),  # YAML `due: 30`: minutes? days? refused
        (True, "must be text"),  # YAML 1.1 `due: yes`
        (None, "must be text"),
        (1.5, "must be text"),
    ],
)
def test_parse_refused(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(value)  # type: ignore[arg-type]


def test_error_message_quotes_the_input() -> None:
    with pytest.raises(ValueError) as info:
        parse_duration("3w")
    assert "'w'" in str(info.value) and "'3w'" in str(info.value)
