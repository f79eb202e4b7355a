"""Text rules of request fields as JSON Schema patterns, for the OpenAPI document.

The server's validators trim text before counting it and refuse U+0000
(PostgreSQL text can't hold it); these patterns say the same, so a client or
a fuzzer reading the document knows exactly which strings are accepted. They
are ECMA-262 patterns that Python's ``re`` reads alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

#: No NUL character.
NO_NUL = r"^[^\u0000]*$"
#: No NUL, and something besides whitespace (the server trims, then needs a character).
TEXT_WITH_CONTENT = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
#: An address: no NUL, and something besides whitespace and the punctuation
#: ``, ; .`` (an address of punctuation alone names no place).
ADDRESS = r"^[^\u0000]*[^\s,;.\u0000][^\u0000]*$"
#: ``YYYY-MM-DD`` (``format: date`` says it must also be a real calendar date).
CALENDAR_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


@dataclass(frozen=True)
class SchemaPattern:
    """``Annotated`` metadata that adds a ``pattern`` to a field's JSON Schema
    only: the field's validators stay what enforces the rule."""

    pattern: str

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema
