"""Cloud film's savings on the coordinator's dashboard: film not printed and repeat examinations avoided."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query

from yilian.api.deps import Engine, require_role
from yilian.api.models.film_savings import FilmSavings, FilmSavingsMonth, HospitalFilmSavings
from yilian.db.engine import reading
from yilian.db.queries import film_savings as q
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.film_savings import REPEAT_WINDOW, CrossView, Exam, repeats_avoided, study_day
from yilian.domain.roles import Role

router = APIRouter(prefix="/api/film-savings", tags=["cloud film"])
ZONE = ZoneInfo(q.ZONE)


def _months(now: datetime, n: int) -> list[str]:
    """The last `n` months up to `now`'s, oldest first, in the alliance's time zone."""
    local = now.astimezone(ZONE)
    y, m = local.year, local.month
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def _exams(rows: list[dict[str, object]]) -> dict[str, list[Exam]]:
    kinds: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    facts: dict[tuple[str, str], tuple[str, str]] = {}
    for r in rows:
        key = (str(r["regional_patient_id"]), str(r["study_instance_uid"]))
        facts[key] = (str(r["hospital_id"]), str(r["study_date"]))
        if r["modality"] is not None:
            kinds[key].add((str(r["modality"]), str(r["body_part"])))
    out: dict[str, list[Exam]] = defaultdict(list)
    for (rid, uid), (hospital, taken) in facts.items():
        out[rid].append(Exam(uid, hospital, study_day(taken), frozenset(kinds[(rid, uid)])))
    return out


@router.get("")
async def film_savings(
    engine: Engine,
    principal: Annotated[Principal, Depends(require_role(Role.COORDINATOR))],
    months: Annotated[int, Query(ge=1, le=24)] = 6,
    hospital_id: Annotated[str | None, Query(max_length=64)] = None,
) -> FilmSavings:
    """Per hospital the coordinator oversees (theirs and every hospital it has an agreement with) and month: the
    studies first delivered to their patient as cloud film instead of printed film, and the repeat examinations
    avoided (another hospital's study of the patient, at most 30 days old, opened here through 检查结果互认, with no
    study of the same modality and body part stored here in the 30 days after it). `hospital_id`: just that one."""
    now = datetime.now(UTC)
    window = _months(now, months)
    since = datetime.strptime(window[0], "%Y-%m").replace(tzinfo=ZONE).astimezone(UTC)
    async with reading(engine) as conn:
        hospitals = await q.partner_hospitals(conn, principal.hospital_id or "")
        if hospital_id is not None:
            if hospital_id not in hospitals:
                raise YilianError(ErrorCode.NOT_FOUND, f"{hospital_id} is not a hospital you oversee")
            hospitals = [hospital_id]
        films = await q.films_not_printed(conn, hospitals, since)
        views = [CrossView(**v) for v in await q.cross_views(conn, hospitals, since)]
        exams = _exams(await q.exams_of(conn, {v.regional_patient_id for v in views}))
    printed = Counter({(str(r["hospital_id"]), str(r["month"])): int(r["count"]) for r in films})
    repeats = repeats_avoided(views, exams)
    items = []
    for h in hospitals:
        per_month = [FilmSavingsMonth(month=m, films_not_printed=printed[(h, m)], repeats_avoided=repeats[(h, m)])
                     for m in window]  # fmt: skip
        items.append(
            HospitalFilmSavings(
                hospital_id=h,
                months=per_month,
                films_not_printed=sum(m.films_not_printed for m in per_month),
                repeats_avoided=sum(m.repeats_avoided for m in per_month),
            )
        )
    return FilmSavings(since=since, until=now, repeat_window_days=REPEAT_WINDOW.days, items=items)
