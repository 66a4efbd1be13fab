"""The flow model's field slot: one field spec of any registered type, picked by its `type` key.

Types register themselves when their class is defined (forms/base.py), so this is
not a fixed union: validation looks the class up in FIELD_TYPES at the time, and
the JSON Schema lists the types registered when it is made. Errors keep the names
and shape of a pydantic discriminated union (`union_tag_invalid`, ...).
"""
from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler, TypeAdapter
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticKnownError, core_schema

from .base import FIELD_TYPES, FieldSpecBase, register_field_type, unregister_field_type


def _expected() -> str:
    return ", ".join(repr(name) for name in FIELD_TYPES)


def _validate(data: Any) -> FieldSpecBase:
    if isinstance(data, FieldSpecBase):
        return data
    if not isinstance(data, dict):
        raise PydanticKnownError("model_attributes_type")
    tag = data.get("type")
    if tag is None:
        raise PydanticKnownError("union_tag_not_found", {"discriminator": "'type'"})
    cls = FIELD_TYPES.get(tag) if isinstance(tag, str) else None
    if cls is None:
        raise PydanticKnownError("union_tag_invalid", {"discriminator": "'type'", "tag": str(tag), "expected_tags": _expected()})
    return cls.model_validate(data)  # its ValidationError is reported at this field's place


_union_cache: dict[tuple[type[FieldSpecBase], ...], TypeAdapter[Any]] = {}


def _union_adapter() -> TypeAdapter[Any]:
    """A discriminated union of the registered classes (for the JSON Schema only)."""
    classes = tuple(FIELD_TYPES.values())
    adapter = _union_cache.get(classes)
    if adapter is None:
        _union_cache.clear()
        union = Annotated[Union[classes], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007
        adapter = _union_cache[classes] = TypeAdapter(union)
    return adapter


class _AnyRegisteredType:
    """Pydantic hooks of FieldSpec: look the class up at validation time, dump it as what it is."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(_validate, serialization=core_schema.simple_ser_schema("any"))

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(_union_adapter().core_schema)


FieldSpec = Annotated[FieldSpecBase, _AnyRegisteredType()]
"""One field spec of any registered type; the class is picked by the `type` key."""

__all__ = ["FIELD_TYPES", "FieldSpec", "register_field_type", "unregister_field_type"]
