"""Field types every API schema shares, so the OpenAPI document and the validation say the same.

Postgres cannot store U+0000 in text: a NUL byte reaching a query was a 500. Every string a
client sends is `Text` (or `NonBlankText`), whose pattern says "no NUL" in the schema and
refuses it with a 422 (chassis/error_handlers.py also turns the database's refusal into a
422, as a safety net).

Integers in request bodies are `integer(...)`, JSON Schema's integer (pydantic alone would take
`false` as 0); `Email` and `IsoDate` accept exactly what their JSON Schema formats say.

Constraints apply to the text as sent; normalising (stripping, lower-casing) comes after
validation (`Stripped`), so a length or a pattern in the schema never disagrees with what
the service accepts.
"""

import re
from datetime import date
from typing import Annotated

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, Field

# ECMA-262 and Python read `\x00` alike: schemathesis, Swagger UI and pydantic agree on it.
NO_NUL = r"^[^\x00]*$"
# Exactly the characters Python's str.strip() removes (str.isspace), written out: ECMA-262's
# `\s` is another set, and the schema must mean what the service does.
WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = rf"^[^\x00]*[^\x00{WHITESPACE}][^\x00]*$"

Text = Annotated[str, Field(pattern=NO_NUL)]
# Text with at least one character that is not whitespace: still something once stripped.
NonBlankText = Annotated[str, Field(pattern=NOT_BLANK)]
Stripped = AfterValidator(str.strip)


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(f"value is not a valid email address: {error}") from None


def _any_case(word: str) -> str:
    return "".join(f"[{letter.lower()}{letter.upper()}]" for letter in word)


# email-validator refuses the special-use domains of RFC 6761 (`.local`, `.test`, ...): the schema
# says so too, with the same list, so a `format: email` address it refuses is no surprise.
RESERVED_DOMAINS = "|".join(_any_case(name) for name in SPECIAL_USE_DOMAIN_NAMES)
NOT_RESERVED = rf"^(?![^@]*@(?:.*\.)?(?:{RESERVED_DOMAINS})$)"
# An address by the syntax of RFC 5321/5322 (JSON Schema's `format: email`); nothing is looked up.
Email = Annotated[str, Field(max_length=320, json_schema_extra={"format": "email", "pattern": NOT_RESERVED}),
                  AfterValidator(_email)]


def _iso_date(value: object) -> object:
    """A day is written YYYY-MM-DD (JSON Schema's `format: date`); pydantic alone would also take 0 (a timestamp)."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _json_integer(value: object) -> object:
    """JSON Schema's integer: 3 and 3.0, never `true` or "3" (pydantic's lax int takes both)."""
    if isinstance(value, (bool, str, bytes)):
        raise ValueError("an integer is a JSON number")
    return value


def integer(**constraints) -> object:
    """An integer field of a request body, with its bounds (`integer(ge=1, le=100)`); query and path
    parameters arrive as text, and plain `int` parses them. The bounds come before the validator,
    so pydantic keeps them on the integer (and in the schema as minimum/maximum)."""
    return Annotated[int, Field(**constraints), BeforeValidator(_json_integer)]
