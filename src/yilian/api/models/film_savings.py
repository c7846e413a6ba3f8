"""What cloud film saved, as the coordinator's dashboard shows it (domain/film_savings.py)."""

from __future__ import annotations

from pydantic import Field

from yilian.api.schemas import ApiModel, Timestamp


class FilmSavingsMonth(ApiModel):
    month: str = Field(description="YYYY-MM, Asia/Shanghai")
    films_not_printed: int = Field(description="studies first delivered to their patient as cloud film this month")
    repeats_avoided: int = Field(
        description="another hospital's recent study of the same kind opened here instead of a new exam"
    )


class HospitalFilmSavings(ApiModel):
    hospital_id: str
    months: list[FilmSavingsMonth] = Field(description="every month of the window, oldest first (zeros included)")
    films_not_printed: int = Field(description="over the window")
    repeats_avoided: int = Field(description="over the window")


class FilmSavings(ApiModel):
    since: Timestamp
    until: Timestamp
    repeat_window_days: int = Field(description="how old a study may be when it stands in for a new one")
    items: list[HospitalFilmSavings] = Field(description="the hospitals the coordinator oversees, by id")
