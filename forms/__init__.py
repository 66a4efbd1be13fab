"""Relayflow's field-type library: what a field's value may be, and how it is stored.

Knows nothing of flows, states or roles. Importing the package defines (and so
registers) the built-in types, in the order below.
"""
from .base import FieldSpecBase, FieldValueError
from .text_fields import EmailField, LongTextField, PhoneField, TextField, UrlField  # isort: skip
from .number_fields import DecimalField, IntegerField, MoneyField  # isort: skip
from .boolean_field import BooleanField  # isort: skip
from .time_fields import DateField, DateTimeField  # isort: skip
from .choice_fields import ChoiceField, MultiChoiceField  # isort: skip
from .user_field import UserField  # isort: skip
from .file_field import FileField  # isort: skip
from .reference_field import ReferenceField  # isort: skip
from .registry import FIELD_TYPES, FieldSpec, register_field_type, unregister_field_type
from .table_field import TableField, TableValueError  # isort: skip

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
    "FileField",
    "IntegerField",
    "LongTextField",
    "MoneyField",
    "MultiChoiceField",
    "PhoneField",
    "TableField",
    "TableValueError",
    "ReferenceField",
    "TextField",
    "UrlField",
    "UserField",
    "register_field_type",
    "unregister_field_type",
]
