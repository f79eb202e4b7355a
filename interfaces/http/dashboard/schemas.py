"""Request bodies of the dashboard's own routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from interfaces.http.schemas import StrictBody


class SignIn(StrictBody):
    apiKey: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]
