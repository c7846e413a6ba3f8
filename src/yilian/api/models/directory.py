"""What a signed-in person's screens look up: hospitals, the agreements their hospital is party to, a case's readers."""

from __future__ import annotations

from pydantic import Field

from yilian.api.models.agreement import AgreementTerms
from yilian.api.models.me import StaffRole
from yilian.api.schemas import ApiModel
from yilian.domain.agreement import CoverCondition, ServiceMode
from yilian.domain.alliance import HospitalLevel


class Hospital(ApiModel):
    id: str
    name: str
    level: HospitalLevel


class AgreementSummary(AgreementTerms):
    """An agreement as its parties see it: its terms, both parties' names and what it covers."""

    id: str
    requesting_hospital_id: str
    requesting_hospital_name: str
    reading_hospital_id: str
    reading_hospital_name: str
    service_mode: ServiceMode
    active: bool
    covers: str = Field(description="what the agreement sends out, in words")
    second_reading_covers: str = Field(description="which reports get a second reading, in words")


class Subspecialty(ApiModel):
    modality: str = Field(description="a modality code, or * for any")
    body_part: str = Field(description="e.g. CHEST, or * for any")


class Reader(ApiModel):
    """A reader who could take a case, with how many open cases they hold or are offered."""

    id: str
    display_name: str
    role: StaffRole
    title: str
    is_junior: bool
    on_duty: bool
    subspecialties: list[Subspecialty]
    open_cases: int


class ReadingChoice(ApiModel):
    """A hospital the doctor may name as a case's `reading_hospital_id` for this modality."""

    hospital_id: str
    hospital_name: str
    in_house: bool = Field(description="the doctor's own hospital, which reads this modality under its in-house policy")
    agreement_ids: list[str] = Field(description="the agreements with that hospital that may cover the case")
    service_modes: list[ServiceMode]
    when: list[CoverCondition] = Field(
        description="when it reads the case: always, only if flagged difficult, if sent within the hosted hours, "
        "or as declared overflow"
    )


class ReadingChoices(ApiModel):
    """Where a doctor of the hospital may send a case of the modality; naming none lets the rules choose."""

    hospital_id: str
    modality: str
    automatic_in_house: bool = Field(
        description="true: a case sent without a reading hospital is read in-house (the policy covers the modality)"
    )
    choices: list[ReadingChoice]
