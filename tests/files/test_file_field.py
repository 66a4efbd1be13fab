"""The file field type's options and values (no database)."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from forms import FieldValueError, FileField
from forms.file_field import human_size, parse_size


def test_options() -> None:
    f = FileField(accept=["PDF", ".jpg", "png", "pdf"], max_size="10MB")
    assert f.accept == ["pdf", "jpg", "png"] and f.max_bytes == 10 * 1024**2
    assert FileField().max_bytes == 20 * 1024**2 and FileField().media_types() is None
    for bad, says in (({"accept": ["exe"]}, "'exe' is not a file kind"), ({"max_size": "lots"}, "is not a size"),
                      ({"max_size": "9GB"}, "between 1 byte and 4GB"), ({"default": ["a"]}, "no default"),
                      ({"unique": True}, "cannot be unique")):
        with pytest.raises(ValidationError, match=says):
            FileField(**bad)  # type: ignore[arg-type]
    assert parse_size(500) == 500 and parse_size("1 kb") == 1024
    assert human_size(64 * 1024) == "64KB" and human_size(1536 * 1024) == "1.5MB" and human_size(12) == "12 bytes"


def test_values() -> None:
    one, many = FileField(), FileField(multiple=True)
    a, b = "a" * 32, "b" * 32
    assert one.coerce(a.upper()) == [a] and one.coerce([]) is None and one.coerce(["", a]) == [a]
    assert many.coerce([a, b, a]) == [a, b]
    with pytest.raises(FieldValueError, match="takes one file only"):
        one.coerce([a, b])
    with pytest.raises(FieldValueError, match="not found; upload it again"):
        many.coerce(["../etc/passwd"])
    with pytest.raises(FieldValueError, match="must be a list of file ids"):
        many.coerce(12)
    assert many.display_text([{"id": a, "name": "合同.pdf"}, {"id": b, "name": "b.png"}], None, str, None) == "合同.pdf, b.png"  # type: ignore[arg-type]
