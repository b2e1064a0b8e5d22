"""Which Outlook `showAs` values make a host unavailable.

Graph's `showAs` / free-busy status is one of free, tentative, busy, oof, workingElsewhere,
unknown. By default busy, oof, tentative and unknown block (unknown fails closed: we never
pretend a calendar is free); free and workingElsewhere do not. A user may choose another set.
Cancelled events never block, whatever their showAs says.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class ShowAs(enum.Enum):
    FREE = "free"
    TENTATIVE = "tentative"
    BUSY = "busy"
    OOF = "oof"
    WORKING_ELSEWHERE = "workingElsewhere"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: str | None) -> ShowAs:
        """Graph's string (any case); anything unrecognised is UNKNOWN, which blocks by default."""
        if value is None:
            return cls.UNKNOWN
        folded = value.strip().casefold()
        for member in cls:
            if member.value.casefold() == folded:
                return member
        return cls.UNKNOWN


DEFAULT_BLOCKING_SHOW_AS: frozenset[ShowAs] = frozenset(
    {ShowAs.BUSY, ShowAs.OOF, ShowAs.TENTATIVE, ShowAs.UNKNOWN}
)


@dataclass(frozen=True, slots=True)
class ShowAsPolicy:
    blocking: frozenset[ShowAs] = DEFAULT_BLOCKING_SHOW_AS

    @classmethod
    def from_names(cls, names: Iterable[str] | None) -> ShowAsPolicy:
        """A user's stored preference ("busy", "oof", ...); None means the default."""
        if names is None:
            return cls()
        return cls(frozenset(ShowAs(name) for name in names))

    def blocks(self, show_as: ShowAs, *, is_cancelled: bool = False) -> bool:
        return not is_cancelled and show_as in self.blocking


DEFAULT_SHOW_AS_POLICY = ShowAsPolicy()
