"""Where a pair's lesson sits in a training row: its own module, importing nothing, so that the
command line offers the choices (`--granularity`) without loading the schema."""

from __future__ import annotations

from enum import StrEnum


class Granularity(StrEnum):
    STEP = "step"
    TRAJECTORY = "trajectory"
