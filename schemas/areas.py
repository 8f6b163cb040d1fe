"""Area codes: the statistical division codes everything is scoped by.

A district has a 6-digit code, a township the 9 digits of its district's code and 3 more, a village
the 12 digits of its township's code and 3 more. So a code's length is its level, its prefixes are
the areas above it, and "inside an area" is "starts with its code" (which is how the engine limits
reads to a scope). `AreaCode` is that rule, written once; the JSON Schemas say the same in
`common.schema.json#/$defs/areaCode`.
"""
from __future__ import annotations

DISTRICT, TOWNSHIP, VILLAGE = "district", "township", "village"
LEVELS = (DISTRICT, TOWNSHIP, VILLAGE)  # top down
LENGTH = {DISTRICT: 6, TOWNSHIP: 9, VILLAGE: 12}
LEVEL_OF_LENGTH = {length: level for level, length in LENGTH.items()}


def is_area_code(value: object, level: str | None = None) -> bool:
    """A 6, 9 or 12-digit code (ASCII digits only); with `level`, one of that level."""
    return (isinstance(value, str) and len(value) in LEVEL_OF_LENGTH and value.isascii()
            and value.isdigit() and (level is None or LEVEL_OF_LENGTH[len(value)] == level))


def is_area_prefix(value: object) -> bool:
    """An area code, or "" (everywhere): what a scope or an area filter may be."""
    return value == "" or is_area_code(value)


class AreaCode(str):
    """An area's code, with what the code itself says: its level, the areas above it, and which
    areas are inside it. It is the code (a `str`): stored, compared and sent as the code."""

    __slots__ = ()

    def __new__(cls, value: object) -> "AreaCode":
        if isinstance(value, AreaCode):
            return value
        if not is_area_code(value):
            raise ValueError(f"area code {value!r} is not a 6, 9 or 12-digit statistical division code")
        return super().__new__(cls, value)

    @staticmethod
    def is_valid(value: object, level: str | None = None) -> bool:
        return is_area_code(value, level)

    @property
    def code(self) -> str:
        return str.__str__(self)

    @property
    def level(self) -> str:
        return LEVEL_OF_LENGTH[len(self)]

    @property
    def parent(self) -> "AreaCode | None":
        """The area it belongs to (a village's township, a township's district); None for a district."""
        return self.at(LEVELS[LEVELS.index(self.level) - 1]) if self.level != DISTRICT else None

    @property
    def child_level(self) -> str | None:
        """The level of the areas directly inside it (None for a village)."""
        return LEVELS[LEVELS.index(self.level) + 1] if self.level != VILLAGE else None

    @property
    def lineage(self) -> tuple["AreaCode", ...]:
        """Itself, then each area above it, nearest first (a village, its township, its district)."""
        return tuple(AreaCode(self[:LENGTH[level]]) for level in reversed(LEVELS) if LENGTH[level] <= len(self))

    def at(self, level: str) -> "AreaCode | None":
        """The area at `level` that it is in (itself at its own level); None below its level."""
        length = LENGTH[level]
        return AreaCode(self[:length]) if length <= len(self) else None

    def contains(self, other: object) -> bool:
        """True if `other` (a code) is this area or inside it."""
        return isinstance(other, str) and other.startswith(self)

    def __repr__(self) -> str:
        return f"AreaCode({self.code!r})"


def parent_of(code: str) -> str | None:
    """The parent's code of a valid area code (None for a district or anything else)."""
    return AreaCode(code).parent if is_area_code(code) else None
