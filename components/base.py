"""Shared base for component args: frozen pydantic models that accept Pulumi Outputs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ComponentArgs(BaseModel):
    """Args of a component: frozen, unknown fields rejected, Pulumi Outputs allowed.

    Fields that take Outputs are typed ``pulumi.Output[str] | str`` (checked with
    isinstance); providers are passed in as ``pulumi.ProviderResource`` and used
    explicitly by every child.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
