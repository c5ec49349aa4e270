"""People, their roles and what their scope covers (PRODUCT.md §3)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    LIAISON = "liaison"
    COMMISSIONER = "commissioner"
    LEADER = "leader"
    COUNTY = "county"
    ADMIN = "admin"


# Roles that oversee villages: they receive alerts and see township data.
OVERSIGHT = frozenset({Role.COMMISSIONER, Role.LEADER, Role.COUNTY})


@dataclass(frozen=True)
class Person:
    """A roster entry, with the names of their places resolved."""

    id: int
    name: str
    role: Role
    township_id: int | None
    village_id: int | None
    phone: str | None
    telegram_id: int | None
    language: str | None
    township: str | None = None
    village: str | None = None
    tg_language: str | None = None

    def place(self) -> str:
        """Return the place a person belongs to, most specific first."""
        return self.village or self.township or ""

    @property
    def scope(self) -> int | None:
        """Return the township whose lists this person sees; None: every township (county)."""
        return None if self.role is Role.COUNTY else self.township_id


def covers(person: Person, township_id: int | None, village_id: int | None = None) -> bool:
    """Return whether a person may see and act on data of this township/village.

    County officers see every township; commissioners and leaders their own township;
    liaisons their own village. Admins manage the roster, not records.
    """
    if person.role is Role.COUNTY:
        return True
    if person.role in (Role.COMMISSIONER, Role.LEADER):
        return township_id is not None and person.township_id == township_id
    if person.role is Role.LIAISON:
        return village_id is not None and person.village_id == village_id
    return False
