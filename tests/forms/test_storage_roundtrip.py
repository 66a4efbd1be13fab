"""Every field type survives a trip through a real database column.

canonical value -> to_db -> INSERT -> SELECT -> from_db == the same canonical value.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from forms import (
    BooleanField,
    ChoiceField,
    DateField,
    DateTimeField,
    DecimalField,
    EmailField,
    FieldSpecBase,
    FileField,
    IntegerField,
    LongTextField,
    MoneyField,
    MultiChoiceField,
    PhoneField,
    ReferenceField,
    TextField,
    UrlField,
    UserField,
)

CASES: list[tuple[str, FieldSpecBase, Any]] = [
    ("text", TextField(max_length=100), "华东机械厂 · A-100"),
    ("longtext", LongTextField(), "第一行\n第二行\tand a tab"),
    ("email", EmailField(), "Zhang.San@Example.com"),
    ("phone", PhoneField(), "+86 (21) 6552-9988"),
    ("url", UrlField(), "https://example.com/订单?id=1"),
    ("integer", IntegerField(), -(2**62)),
    ("decimal", DecimalField(scale=2), "12345678.9"),
    ("decimal_scale0", DecimalField(scale=0, precision=10), "42"),
    ("decimal_scale4", DecimalField(scale=4, precision=12), "-0.0001"),
    ("money", MoneyField(currency="EUR"), "0.1"),
    ("boolean_true", BooleanField(), True),
    ("boolean_false", BooleanField(), False),
    ("date", DateField(), "2026-10-01"),
    ("datetime", DateTimeField(), "2026-10-01T09:30:15.123456+08:00"),
    ("choice", ChoiceField(choices={"no": "否", "yes": "是"}), "no"),
    ("multichoice", MultiChoiceField(choices={"a": "A", "b": "B", "c": "C"}), ["c", "a"]),
    ("file", FileField(multiple=True), ["0" * 32, "f" * 32]),
    ("user", UserField(role="sales"), 7),
    ("reference", ReferenceField(flow="customer"), 2**62),
]


def _round_trip(engine: sa.engine.Engine, name: str, spec: FieldSpecBase, value: Any) -> Any:
    metadata = sa.MetaData()
    table = sa.Table(
        f"t_{name}", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("value", spec.column_type(), nullable=True),
    )
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": 1, "value": spec.to_db(value)}, {"id": 2, "value": spec.to_db(None)}])
        rows = {row[0]: row[1] for row in conn.execute(sa.select(table.c.id, table.c.value))}
    assert spec.from_db(rows[2]) is None
    return spec.from_db(rows[1])


@pytest.fixture(scope="module")
def sqlite_engine() -> sa.engine.Engine:
    return sa.create_engine("sqlite://")


@pytest.mark.parametrize(("name", "spec", "raw"), CASES, ids=[c[0] for c in CASES])
def test_sqlite_round_trip(sqlite_engine: sa.engine.Engine, name: str, spec: FieldSpecBase, raw: Any) -> None:
    value = spec.coerce(raw, tz=ZoneInfo("Asia/Shanghai"))
    back = _round_trip(sqlite_engine, name, spec, value)
    assert back == value
    assert type(back) is type(value)
    assert spec.to_json(back) == spec.to_json(value)


def test_every_type_is_covered() -> None:
    from forms import FIELD_TYPES

    # A table field has no column of its own: its rows' types are these (tests/tables covers the rows).
    assert {spec.type for _, spec, _ in CASES} == {n for n, cls in FIELD_TYPES.items() if cls.stored_in_row}


def test_sqlite_keeps_decimal_places_and_utc() -> None:
    engine = sa.create_engine("sqlite://")
    money = MoneyField()
    assert str(_round_trip(engine, "m", money, money.coerce("100"))) == "100.00"
    when = DateTimeField()
    back = _round_trip(engine, "w", when, when.coerce("2026-10-01T09:30+08:00"))
    assert back == datetime(2026, 10, 1, 1, 30, tzinfo=UTC) and back.tzinfo is UTC
    day = DateField()
    assert _round_trip(engine, "d", day, date(2026, 10, 1)) == date(2026, 10, 1)


@pytest.mark.postgres
def test_postgres_round_trip_is_exact(postgres_url: str) -> None:
    """PostgreSQL numeric keeps all 18 digits (SQLite stores a float and would not)."""
    engine = sa.create_engine(postgres_url)
    try:
        for name, spec, raw in CASES + [("big", DecimalField(), "9999999999999999.99")]:
            value = spec.coerce(raw, tz=ZoneInfo("Asia/Shanghai"))
            back = _round_trip(engine, name, spec, value)
            assert back == value and type(back) is type(value), name
        assert _round_trip(engine, "big2", DecimalField(), Decimal("9999999999999999.99")) == Decimal("9999999999999999.99")
    finally:
        engine.dispose()


def test_sqlite_keeps_every_digit_of_a_decimal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SQLite has no exact NUMERIC; amounts are stored as scaled integers and come back exact."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'd.db'}")
    try:
        for i, raw in enumerate(("9999999999999999.99", "-0.01", "0.10", "1234567890123456.78")):
            value = DecimalField().coerce(raw)
            assert _round_trip(engine, f"big{i}", DecimalField(), value) == value
        meta = sa.MetaData()
        t = sa.Table("amounts", meta, sa.Column("v", DecimalField().column_type()))
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(t.insert(), [{"v": Decimal("10.05")}, {"v": Decimal("9.95")}, {"v": Decimal("100.00")}])
            ordered = conn.execute(sa.select(t.c.v).order_by(t.c.v)).scalars().all()
            big = conn.execute(sa.select(t.c.v).where(t.c.v > Decimal("10.00"))).scalars().all()
        assert ordered == [Decimal("9.95"), Decimal("10.05"), Decimal("100.00")]
        assert sorted(big) == [Decimal("10.05"), Decimal("100.00")]
    finally:
        engine.dispose()


@pytest.mark.parametrize(("name", "spec", "raw"), CASES, ids=[c[0] for c in CASES])
def test_a_fields_own_sqlite_reader_reads_what_its_column_and_from_db_read(
        sqlite_engine: sa.engine.Engine, name: str, spec: FieldSpecBase, raw: Any) -> None:
    """Line rows are read with `db_reader` where a field has one: the same value, digits and exponent included."""
    reader = spec.db_reader("sqlite")
    if reader is None:
        return
    values = [spec.coerce(raw, tz=ZoneInfo("Asia/Shanghai"))]
    if isinstance(values[0], Decimal):
        largest = "9" * (spec.precision - spec.scale) + ("." + "9" * spec.scale if spec.scale else "")
        values += [spec.coerce(v) for v in ("0", "-0.01" if spec.scale else "-1", largest, "-" + largest)]
    dialect = sqlite_engine.dialect
    column = spec.column_type()
    processor = column.dialect_impl(dialect).result_processor(dialect, None)
    bind = column.dialect_impl(dialect).bind_processor(dialect)
    for value in values:
        stored = bind(spec.to_db(value)) if bind else spec.to_db(value)
        expected = spec.from_db(processor(stored) if processor else stored)
        got = reader(stored)
        assert got == expected == value and type(got) is type(expected)
        assert got.as_tuple() == expected.as_tuple() if isinstance(got, Decimal) else True
