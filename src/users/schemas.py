"""API schemas of the users service (requests validated strictly: unknown fields are a 422)."""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from chassis.fields import Email, NonBlankText, Stripped, Text

Name = Annotated[NonBlankText, Field(min_length=1, max_length=100), Stripped]
# argon2 hashes any length, but an upper bound keeps one request from costing seconds of CPU.
Password = Annotated[Text, Field(min_length=8, max_length=128)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(StrictModel):
    email: Email
    password: Password
    name: Name

    @field_validator("email")
    @classmethod
    def lower_case(cls, email: str) -> str:
        return email.lower()


class UserUpdate(StrictModel):
    name: Name


class UserRead(BaseModel):
    id: int
    email: str
    name: str
    role: Literal["customer", "admin"]

    model_config = ConfigDict(from_attributes=True)


class LoginRequest(StrictModel):
    email: Annotated[Text, Field(min_length=1, max_length=320), Stripped, AfterValidator(str.lower)]
    password: Annotated[Text, Field(min_length=1, max_length=128)]


class RefreshRequest(StrictModel):
    refresh_token: Annotated[Text, Field(min_length=1, max_length=256)]


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int  # seconds until the access token expires
