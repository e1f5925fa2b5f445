"""The base of every boundary model: immutable, and unknown fields are errors."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Base for immutable boundary models: unknown fields are errors, not silently kept."""

    model_config = ConfigDict(frozen=True, extra="forbid")
