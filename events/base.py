"""The base of every domain event: a frozen, keyword-only, tagged msgspec Struct."""

from __future__ import annotations

from typing import ClassVar

import msgspec


class DomainEvent(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="type"
):
    """A fact in the domain. The tag is the stored type name; the class may move freely."""

    schema_version: ClassVar[int] = 1

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Cross-field checks beyond the field types; raise ValueError naming the field."""

    @property
    def stream(self) -> str:
        """The stream this event belongs to."""
        raise NotImplementedError

    @classmethod
    def type_name(cls) -> str:
        """The stable tag stored in the ``type`` column."""
        tag = cls.__struct_config__.tag
        assert isinstance(tag, str)
        return tag
