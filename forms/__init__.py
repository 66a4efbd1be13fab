"""Relayflow's field-type library: what a field's value may be, and how it is stored.

Knows nothing of flows, states or roles.
"""
from .base import FieldSpecBase, FieldValueError
from .boolean_field import BooleanField
from .choice_fields import ChoiceField, MultiChoiceField
from .number_fields import DecimalField, IntegerField, MoneyField
from .registry import FIELD_TYPES, FieldSpec
from .text_fields import EmailField, LongTextField, PhoneField, TextField, UrlField
from .time_fields import DateField, DateTimeField
from .user_field import UserField

__all__ = [
    "FIELD_TYPES",
    "BooleanField",
    "ChoiceField",
    "DateField",
    "DateTimeField",
    "DecimalField",
    "EmailField",
    "FieldSpec",
    "FieldSpecBase",
    "FieldValueError",
    "IntegerField",
    "LongTextField",
    "MoneyField",
    "MultiChoiceField",
    "PhoneField",
    "TextField",
    "UrlField",
    "UserField",
]
