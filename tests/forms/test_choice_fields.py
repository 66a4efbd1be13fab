"""Choice and multichoice fields."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from forms import ChoiceField, FieldValueError, MultiChoiceField

PRIORITY = {"normal": "普通", "urgent": "加急"}
YES_NO = {"no": "否", "yes": "是"}
COLOURS = {"red": "红", "green": "绿", "blue": "蓝"}


def refused(spec, raw) -> FieldValueError:
    with pytest.raises(FieldValueError) as info:
        spec.coerce(raw)
    assert info.value.message
    return info.value


class TestChoice:
    def test_value_is_the_id(self) -> None:
        spec = ChoiceField(choices=PRIORITY)
        assert spec.coerce(" urgent ") == "urgent"
        assert spec.coerce("") is None and spec.coerce(None) is None

    def test_yes_no_ids_stay_strings(self) -> None:
        spec = ChoiceField(choices=YES_NO)
        assert list(spec.choices) == ["no", "yes"]
        assert spec.coerce("no") == "no"
        assert spec.value_schema()["enum"] == ["no", "yes"]

    def test_numeric_ids_are_strings(self) -> None:
        spec = ChoiceField(choices={1: "一级", 2: "二级"})
        assert list(spec.choices) == ["1", "2"]
        assert spec.coerce(2) == "2" and spec.coerce("1") == "1"

    def test_boolean_keys_are_refused_with_a_hint(self) -> None:
        with pytest.raises(ValidationError, match="quote it: 'false'"):
            ChoiceField(choices={False: "否", True: "是"})

    def test_unknown_id_lists_the_allowed_ones(self) -> None:
        err = refused(ChoiceField(choices=PRIORITY), "加急")
        assert err.message == "'加急' is not one of the choices (normal, urgent)"
        assert err.code == "choice"

    @pytest.mark.parametrize("raw", [True, 1.0, ["normal"]])
    def test_wrong_types(self, raw) -> None:
        assert refused(ChoiceField(choices=PRIORITY), raw).code == "type"

    def test_default_must_be_a_choice(self) -> None:
        assert ChoiceField(choices=PRIORITY, default="normal").default == "normal"
        with pytest.raises(ValidationError, match="default 'rush' does not fit this field: 'rush' is not one of"):
            ChoiceField(choices=PRIORITY, default="rush")

    @pytest.mark.parametrize("choices", [{}, {"": "空"}, {" a": "A"}])
    def test_bad_choices(self, choices) -> None:
        with pytest.raises(ValidationError, match="choice"):
            ChoiceField(choices=choices)

    def test_choices_are_required(self) -> None:
        with pytest.raises(ValidationError):
            ChoiceField()

    def test_column_fits_the_longest_id(self) -> None:
        assert ChoiceField(choices=PRIORITY).column_type().length == 32
        assert ChoiceField(choices={"x" * 50: "long"}).column_type().length == 50

    def test_schema_has_labels(self) -> None:
        schema = ChoiceField(choices=PRIORITY, title="优先级").value_schema()
        assert schema["enum"] == ["normal", "urgent"]
        assert schema["x-labels"] == PRIORITY
        assert schema["oneOf"] == [{"const": "normal", "title": "普通"}, {"const": "urgent", "title": "加急"}]
        assert schema["title"] == "优先级"


class TestMultiChoice:
    def test_order_of_choices_and_no_duplicates(self) -> None:
        spec = MultiChoiceField(choices=COLOURS)
        assert spec.coerce(["blue", "red", "blue", " red "]) == ["red", "blue"]
        assert spec.coerce(("green",)) == ["green"]
        assert spec.coerce({"blue", "green"}) == ["green", "blue"]

    def test_single_id_is_a_list_of_one(self) -> None:
        assert MultiChoiceField(choices=COLOURS).coerce("green") == ["green"]

    @pytest.mark.parametrize("raw", [None, [], [""], ""])
    def test_empty_is_none(self, raw) -> None:
        assert MultiChoiceField(choices=COLOURS).coerce(raw) is None

    def test_unknown_ids_are_all_named(self) -> None:
        err = refused(MultiChoiceField(choices=COLOURS), ["red", "pink", "black"])
        assert err.message == "'pink', 'black' are not among the choices (red, green, blue)"

    def test_wrong_types(self) -> None:
        refused(MultiChoiceField(choices=COLOURS), {"red": True})
        refused(MultiChoiceField(choices=COLOURS), [True])

    def test_item_counts(self) -> None:
        spec = MultiChoiceField(choices=COLOURS, min_items=2, max_items=2)
        assert spec.coerce(["red", "blue"]) == ["red", "blue"]
        assert refused(spec, ["red", "red"]).message == "pick at least 2 (picked 1)"
        assert refused(spec, list(COLOURS)).message == "pick at most 2 (picked 3)"

    def test_bad_item_options(self) -> None:
        with pytest.raises(ValidationError, match="min_items \\(3\\) must not be greater than max_items \\(1\\)"):
            MultiChoiceField(choices=COLOURS, min_items=3, max_items=1)
        with pytest.raises(ValidationError, match="more than the 3 choices"):
            MultiChoiceField(choices=COLOURS, min_items=4)
        with pytest.raises(ValidationError):
            MultiChoiceField(choices=COLOURS, max_items=-1)

    def test_parse_form_takes_every_posted_value(self) -> None:
        spec = MultiChoiceField(choices=COLOURS)
        assert spec.parse_form(["", "blue", "red"]) == ["red", "blue"]
        assert spec.parse_form([]) is None

    def test_default_is_checked(self) -> None:
        MultiChoiceField(choices=COLOURS, default=["red"])
        with pytest.raises(ValidationError, match="default"):
            MultiChoiceField(choices=COLOURS, default=["pink"])

    def test_schema(self) -> None:
        schema = MultiChoiceField(choices=COLOURS, max_items=2).value_schema()
        assert schema["type"] == "array" and schema["uniqueItems"] is True
        assert schema["items"]["enum"] == ["red", "green", "blue"]
        assert schema["maxItems"] == 2
