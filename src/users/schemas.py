"""API schemas of the users service (requests validated strictly: unknown fields are a 422)."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# argon2 hashes any length, but an upper bound keeps one request from costing seconds of CPU.
Password = Annotated[str, Field(min_length=8, max_length=128)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(StrictModel):
    email: EmailStr
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
    email: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=128)]


class RefreshRequest(StrictModel):
    refresh_token: Annotated[str, Field(min_length=1, max_length=256)]


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int  # seconds until the access token expires
