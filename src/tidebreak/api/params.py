"""Path parameter types shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

# Row ids are 64-bit integers in the database: a larger number is a client error (422), not an
# OverflowError deep in the driver.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
