"""All field types, by their `type` name, and the union a flow model embeds."""
from __future__ import annotations

from typing import Annotated, Union, get_args

from pydantic import Field

from .base import FieldSpecBase
from .boolean_field import BooleanField
from .choice_fields import ChoiceField, MultiChoiceField
from .number_fields import DecimalField, IntegerField, MoneyField
from .text_fields import EmailField, LongTextField, PhoneField, TextField, UrlField
from .time_fields import DateField, DateTimeField
from .user_field import UserField

FieldSpec = Annotated[
    Union[
        TextField,
        LongTextField,
        IntegerField,
        DecimalField,
        MoneyField,
        BooleanField,
        DateField,
        DateTimeField,
        ChoiceField,
        MultiChoiceField,
        EmailField,
        PhoneField,
        UrlField,
        UserField,
    ],
    Field(discriminator="type"),
]
"""One field spec of any type; pydantic picks the class by the `type` key."""

# The classes of the union above, in its order (one list to keep up to date, not two).
_CLASSES: tuple[type[FieldSpecBase], ...] = get_args(get_args(FieldSpec)[0])

FIELD_TYPES: dict[str, type[FieldSpecBase]] = {
    cls.model_fields["type"].default: cls for cls in _CLASSES
}
"""Field type name (the `type` key in a flow file) -> its spec class."""
