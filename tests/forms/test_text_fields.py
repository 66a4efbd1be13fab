"""Text-like fields: text, longtext, email, phone, url."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from forms import EmailField, FieldValueError, LongTextField, PhoneField, TextField, UrlField


def refused(spec, raw) -> FieldValueError:
    with pytest.raises(FieldValueError) as info:
        spec.coerce(raw)
    assert info.value.message  # written for a person
    return info.value


class TestText:
    def test_strips_and_keeps_unicode(self) -> None:
        assert TextField().coerce("  华东机械厂 · A-100  ") == "华东机械厂 · A-100"

    @pytest.mark.parametrize("raw", [None, "", "   ", "\u3000"])
    def test_blank_is_none(self, raw) -> None:
        assert TextField().coerce(raw) is None

    def test_tab_inside_is_allowed(self) -> None:
        assert TextField().coerce("a\tb") == "a\tb"

    def test_line_break_refused(self) -> None:
        err = refused(TextField(), "line one\nline two")
        assert "single line" in err.message

    @pytest.mark.parametrize("raw", ["bell\x07", "nul\x00byte", "del\x7f", "c1\x85x"])
    def test_control_characters_refused(self, raw) -> None:
        err = refused(TextField(), raw)
        assert err.code in ("control_char", "line_break")

    def test_length_limits(self) -> None:
        spec = TextField(min_length=2, max_length=5)
        assert spec.coerce("abcde") == "abcde"
        assert "at most 5 characters" in refused(spec, "abcdef").message
        assert "at least 2 characters" in refused(spec, "a").message

    def test_default_max_length_is_200(self) -> None:
        assert TextField().coerce("x" * 200) == "x" * 200
        refused(TextField(), "x" * 201)

    def test_length_counts_characters_not_bytes(self) -> None:
        assert TextField(max_length=3).coerce("销售单") == "销售单"

    def test_pattern_must_match_whole_value(self) -> None:
        spec = TextField(pattern=r"[A-Z]{2}-\d+")
        assert spec.coerce(" SO-123 ") == "SO-123"
        assert refused(spec, "xSO-123").code == "pattern"
        assert refused(spec, "SO-123x").code == "pattern"

    def test_invalid_pattern_refused_when_building(self) -> None:
        with pytest.raises(ValidationError, match="not a valid regular expression"):
            TextField(pattern="([A-Z")

    @pytest.mark.parametrize("raw", [12, 1.5, True, ["a"]])
    def test_non_text_refused(self, raw) -> None:
        assert refused(TextField(), raw).code == "type"

    def test_parse_form_takes_last_value(self) -> None:
        assert TextField().parse_form(["a", " b "]) == "b"
        assert TextField().parse_form([]) is None


class TestLongText:
    def test_keeps_line_breaks_and_normalises_them(self) -> None:
        assert LongTextField().coerce("  one\r\ntwo\rthree\n\n ") == "one\ntwo\nthree"

    def test_control_characters_still_refused(self) -> None:
        assert refused(LongTextField(), "a\x00b").code == "control_char"

    def test_default_max_length(self) -> None:
        LongTextField().coerce("x" * 10000)
        refused(LongTextField(), "x" * 10001)


class TestEmail:
    @pytest.mark.parametrize(
        ("raw", "canonical"),
        [
            ("Zhang.San@Example.COM", "Zhang.San@example.com"),
            (" ops+orders@mail.example.cn ", "ops+orders@mail.example.cn"),
            ("用户@例子.中国", "用户@例子.中国"),
        ],
    )
    def test_good_addresses(self, raw, canonical) -> None:
        assert EmailField().coerce(raw) == canonical

    @pytest.mark.parametrize(
        "raw",
        ["plainaddress", "a@b", "a@@b.com", "@example.com", "a b@example.com", "a@-x.com",
         "a..b@example.com", "a@example..com", "a@example.123", "a@example.com."],
    )
    def test_bad_addresses(self, raw) -> None:
        assert refused(EmailField(), raw).code in ("email", "control_char")

    def test_too_long(self) -> None:
        assert refused(EmailField(), "a" * 60 + "@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 80 + ".com").code == "too_long"

    def test_max_length_cannot_exceed_254(self) -> None:
        with pytest.raises(ValidationError):
            EmailField(max_length=300)


class TestPhone:
    @pytest.mark.parametrize("raw", ["+86 138-0013-8000", "(010) 6552 9988", "13800138000", "  12345 "])
    def test_kept_as_typed_but_stripped(self, raw) -> None:
        assert PhoneField().coerce(raw) == raw.strip()

    @pytest.mark.parametrize("raw", ["138 0013 80OO", "call me", "(1-2)", "86+138001380", "１３８００１３８０００"])
    def test_refused(self, raw) -> None:
        refused(PhoneField(), raw)

    def test_length_bounds(self) -> None:
        assert refused(PhoneField(), "1234").code == "too_short"
        assert refused(PhoneField(), "1" * 33).code == "too_long"


class TestUrl:
    @pytest.mark.parametrize(
        "raw",
        ["https://example.com", "http://example.com:8080/a/b?q=1#x", "HTTPS://Example.com/路径", "http://[::1]/", "http://localhost"],
    )
    def test_good(self, raw) -> None:
        assert UrlField().coerce(f" {raw} ") == raw

    @pytest.mark.parametrize(
        "raw",
        ["ftp://example.com", "javascript:alert(1)", "example.com", "https://", "https://exa mple.com",
         "http://example.com:99999/", "http://[zz]/"],
    )
    def test_bad(self, raw) -> None:
        refused(UrlField(), raw)

    def test_max_length(self) -> None:
        url = "https://example.com/" + "a" * 1980
        assert UrlField().coerce(url) == url
        assert refused(UrlField(), url + "a").code == "too_long"
