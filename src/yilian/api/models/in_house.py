"""A hospital's in-house reading policy (本院写片) as the admin API shows and accepts it: domain/in_house.py."""

from __future__ import annotations

from pydantic import Field

from yilian.api.models.agreement import CaseTerms, Modality
from yilian.api.schemas import Timestamp
from yilian.domain.in_house import InHousePolicy, terms_from_json


class InHouseReadingBody(CaseTerms):
    """Which of the hospital's own studies its readers read, who, and the case terms (the same as an agreement's)."""

    enabled: bool = Field(default=True, description="off: the hospital's studies go out under its agreements again")
    modalities: list[Modality] = Field(
        max_length=32, description="the modalities of the hospital's own studies it reads in-house (at least one)"
    )
    reader_ids: list[str] = Field(
        default_factory=list,
        max_length=200,
        description="experts or seniors of the hospital who read them; empty: every reader of the hospital",
    )
    auto_read: bool = Field(
        default=False, description="every covered study that arrives becomes a case by itself (as under full hosting)"
    )

    def policy(self, hospital_id: str) -> InHousePolicy:
        terms = self.model_dump(mode="json", include=set(CaseTerms.model_fields))
        return InHousePolicy(
            hospital_id=hospital_id,
            enabled=self.enabled,
            modalities=frozenset(self.modalities),
            reader_ids=tuple(self.reader_ids),
            terms=terms_from_json(terms),
            auto_read=self.auto_read,
        )


class InHouseReading(InHouseReadingBody):
    """The policy as stored (PUT takes the same fields but the hospital and the times)."""

    hospital_id: str
    created_at: Timestamp
    updated_at: Timestamp
