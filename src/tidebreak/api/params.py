"""Parameter types shared by the routers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Path, Request

from tidebreak.auth import Principal

# Row ids are 64-bit integers in the database: a larger number is a client error (422), not an
# OverflowError deep in the driver.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

# `principal(permission)`: the FastAPI dependency that authenticates the caller and checks the
# permission (tidebreak.api.app), handed to every router
Requires = Callable[[str], Callable[[Request], Awaitable[Principal]]]
