"""The regional patient index (区域患者主索引): which hospital records are one person, decided from a keyed hash of
the national ID number plus name, sex and birth date.

A match on all four links at once; anything less certain (the same number with other demographics, or the same
demographics with another or no number) goes to a coordinator's review queue and stays apart until a person
decides. Nothing here stores or returns a national ID: only its HMAC under the alliance's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from yilian.domain.roles import Role

# GB 11643-1999: 17 digits and a check character (0-9 or X), weights 2^(17-i) mod 11.
_NATIONAL_ID = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_CHECK = "10X98765432"


class LinkHow(StrEnum):
    """How a hospital record came to its regional patient."""

    OWN = "own"  # a regional patient of its own: nothing matched, or a review is still open
    EXACT = "exact"  # national ID, name, sex and birth date all matched
    REVIEWED = "reviewed"  # a coordinator linked it from the review queue
    MANUAL = "manual"  # a coordinator moved it (undoing an unlink, say)


class Uncertainty(StrEnum):
    """Why a candidate needs a person's eye."""

    DEMOGRAPHICS_DIFFER = "demographics_differ"  # the same national ID, but name, sex or birth date differ
    NATIONAL_ID_DIFFERS = "national_id_differs"  # the same name, sex and birth date, another national ID
    NO_NATIONAL_ID = "no_national_id"  # the same name, sex and birth date, and one side has no national ID


class IndexAction(StrEnum):
    """Each event of the index's audit log; every one says where the record was and where it went."""

    ENROLLED = "enrolled"  # first entry, as a regional patient of its own
    LINKED = "linked"  # an exact match, linked automatically
    REVIEW_OPENED = "review_opened"
    REVIEW_LINKED = "review_linked"
    REVIEW_KEPT_APART = "review_kept_apart"
    UNLINKED = "unlinked"  # split off to a regional patient of its own
    MOVED = "moved"  # a coordinator linked it to a named regional patient


class ReviewState(StrEnum):
    OPEN = "open"
    LINKED = "linked"
    KEPT_APART = "kept_apart"


# Who keeps the index: a hospital's own people enrol its records; the alliance's coordinators decide reviews and
# link or unlink; an admin may do everything.
ENROLLERS = frozenset({Role.COUNTY_DOCTOR, Role.COORDINATOR, Role.ADMIN})
KEEPERS = frozenset({Role.COORDINATOR, Role.ADMIN})


def normalise_national_id(raw: str) -> str | None:
    """The 18-character citizen ID number in canonical form, or None when it is not one (bad length, digits or
    check character): a mistyped number must not link two people, nor fail to link one."""
    value = re.sub(r"[\s-]", "", raw).upper()
    if not _NATIONAL_ID.match(value):
        return None
    check = _CHECK[sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True)) % 11]
    return value if value[17] == check else None


def national_id_hash(secret: str, national_id: str) -> str:
    """HMAC-SHA256 of the normalised number: equal numbers hash equal, and a leaked table cannot be reversed by
    enumerating the (small) space of ID numbers without the key."""
    return hmac.new(secret.encode(), f"national-id/{national_id}".encode(), hashlib.sha256).hexdigest()


def normalise_name(name: str) -> str:
    """Names compare after Unicode NFKC (full-width letters), case folding and collapsed spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


@dataclass(frozen=True)
class Demographics:
    name: str
    sex: str
    birth_date: date

    def same_as(self, other: Demographics) -> bool:
        return (
            normalise_name(self.name) == normalise_name(other.name)
            and self.sex == other.sex
            and self.birth_date == other.birth_date
        )


@dataclass(frozen=True)
class IndexEntry:
    """A hospital record already in the index: its regional patient, its demographics and its national ID hash."""

    regional_patient_id: str
    demographics: Demographics
    national_id_hash: str | None


@dataclass(frozen=True)
class Match:
    """What enrolling a record decides: link to `regional_patient_id` (exact), ask a person (uncertain, with the
    candidate and why), or a regional patient of its own (neither)."""

    regional_patient_id: str | None
    uncertainty: Uncertainty | None = None

    @property
    def exact(self) -> bool:
        return self.regional_patient_id is not None and self.uncertainty is None


NO_MATCH = Match(None)


def match(national_hash: str | None, who: Demographics, entries: Iterable[IndexEntry]) -> Match:
    """The one matching rule. `entries`: at least every record with the same national ID hash or the same
    birth date (others cannot match). An exact match wins over any uncertain one."""
    uncertain: Match | None = None
    for e in entries:
        same_id = national_hash is not None and e.national_id_hash == national_hash
        same_people = who.same_as(e.demographics)
        if same_id and same_people:
            return Match(e.regional_patient_id)
        if uncertain is not None:
            continue
        if same_id:
            uncertain = Match(e.regional_patient_id, Uncertainty.DEMOGRAPHICS_DIFFER)
        elif same_people:
            differs = national_hash is not None and e.national_id_hash is not None
            why = Uncertainty.NATIONAL_ID_DIFFERS if differs else Uncertainty.NO_NATIONAL_ID
            uncertain = Match(e.regional_patient_id, why)
    return uncertain or NO_MATCH
