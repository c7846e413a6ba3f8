"""Archive index queries: storing an instance's rows, and what a principal may find and retrieve."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    ColumnElement,
    DateTime,
    Integer,
    String,
    Table,
    TextClause,
    and_,
    any_,
    bindparam,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter

from yilian.db.queries.access import visible_studies
from yilian.db.schema import dicom_instances, dicom_series, dicom_studies
from yilian.domain.access import Principal


async def stored_digest(conn: AsyncConnection, sop_instance_uid: str) -> str | None:
    return await conn.scalar(
        select(dicom_instances.c.sha256).where(dicom_instances.c.sop_instance_uid == sop_instance_uid)
    )


async def study_owner(conn: AsyncConnection, study_instance_uid: str) -> str | None:
    return await conn.scalar(
        select(dicom_studies.c.hospital_id).where(dicom_studies.c.study_instance_uid == study_instance_uid)
    )


# Built once with the UIDs as array parameters (`= ANY`), so each call reuses the prepared statement instead of
# expanding IN lists of their own length: the look-up before every STOW-RS batch, one round trip for both tables.
_STORED_COPIES = union_all(
    select(literal("study"), dicom_studies.c.study_instance_uid, dicom_studies.c.hospital_id).where(
        dicom_studies.c.study_instance_uid == any_(bindparam("studies", type_=ARRAY(String(64))))
    ),
    select(literal("instance"), dicom_instances.c.sop_instance_uid, dicom_instances.c.sha256).where(
        dicom_instances.c.sop_instance_uid == any_(bindparam("instances", type_=ARRAY(String(64))))
    ),
)


async def stored_copies(
    conn: AsyncConnection, study_instance_uids: Iterable[str], sop_instance_uids: Iterable[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """What is already stored of these studies and instances, in one query: the hospital that owns each study, and
    the SHA-256 of each SOP instance."""
    params = {"studies": sorted(set(study_instance_uids)), "instances": sorted(set(sop_instance_uids))}
    owners: dict[str, str] = {}
    digests: dict[str, str] = {}
    for kind, uid, value in await conn.execute(_STORED_COPIES, params):
        (owners if kind == "study" else digests)[uid] = value
    return owners, digests


@dataclass(frozen=True)
class NewInstance:
    """The rows of one instance to store (imaging/index.py), for `insert_instances`."""

    hospital_id: str
    study: dict[str, Any]
    series: dict[str, Any]
    instance: dict[str, Any]
    modality: str


_ARRAY_TYPES = ((DateTime, "timestamptz[]"), (BigInteger, "bigint[]"), (Integer, "integer[]"), (String, "text[]"))
_COUNTERS = ("number_of_instances", "number_of_series", "total_bytes", "modalities")


def _unnest(table: Table, columns: tuple[str, ...], prefix: str) -> str:
    """`unnest(CAST(:<prefix><column> AS <type>[]), ...) AS v(<columns>)`: a table's rows given as one array per
    column (asyncpg sends each as one array parameter)."""
    casts = []
    for name in columns:
        kind = next(array for sql_type, array in _ARRAY_TYPES if isinstance(table.c[name].type, sql_type))
        casts.append(f"CAST(:{prefix}{name} AS {kind})")
    names = ", ".join(f'"{name}"' for name in columns)
    return f"unnest({', '.join(casts)}) AS v({names})"


@functools.lru_cache(maxsize=32)
def _insert_statement(
    study_columns: tuple[str, ...], series_columns: tuple[str, ...], instance_columns: tuple[str, ...]
) -> TextClause:
    """One statement that stores a batch's rows and counts its instances (`insert_instances`), built once per set of
    columns.

    The instances go first (a SOP Instance UID already there is skipped), then each series and each study is inserted
    with the counts of the instances actually inserted, or, when it is already there, has those counts added; a
    series or study of no inserted instance is inserted with zero counts, or left as it is. The foreign keys are
    checked at the end of the statement, when the series and studies exist. Rows are taken in UID order, table by
    table (instances, series, studies), so two batches that meet on a row wait for each other in one order and
    never deadlock; an update takes the lock an UPDATE takes (NO KEY UPDATE), which the key-share locks of the
    foreign key checks do not wait for. The table order is not PostgreSQL's own: the main query reads only `inst`,
    and the other data-modifying CTEs run after it, the last declared first, so `st` must read all of `ser` before
    its first row (`series_taken`). Without that, a batch that inserted nothing (never reading `new_series`) took
    its studies before its series, and deadlocked against a batch that took them the other way round.

    A series is new to its study's count when its count of instances went from zero to more (as one by one); a
    study's modalities are appended in the order its inserted instances came in the batch, each once, skipping
    those it has.
    """
    study_names = ", ".join(f'"{name}"' for name in (*study_columns, *_COUNTERS))
    series_names = ", ".join(f'"{name}"' for name in (*series_columns, "number_of_instances"))
    instance_names = ", ".join(f'"{name}"' for name in instance_columns)
    return text(
        f"WITH inst AS ("
        f" INSERT INTO dicom_instances ({instance_names})"
        f" SELECT * FROM {_unnest(dicom_instances, instance_columns, 'i_')}"
        " ON CONFLICT (sop_instance_uid) DO NOTHING RETURNING sop_instance_uid),"
        # The batch's instances that were inserted, in the batch's order, with what they count for.
        " mine AS (SELECT m.* FROM unnest(CAST(:m_sop AS text[]), CAST(:m_series AS text[]),"
        " CAST(:m_study AS text[]), CAST(:m_size AS bigint[]), CAST(:m_modality AS text[])) WITH ORDINALITY"
        " AS m(sop, series, study, size, modality, ord) WHERE m.sop IN (SELECT sop_instance_uid FROM inst)),"
        " per_series AS (SELECT series, count(*)::integer AS n FROM mine GROUP BY series),"
        f" ser AS (INSERT INTO dicom_series ({series_names})"
        f" SELECT v.*, coalesce(c.n, 0) FROM {_unnest(dicom_series, series_columns, 's_')}"
        " LEFT JOIN per_series AS c ON c.series = v.series_instance_uid ORDER BY v.series_instance_uid"
        " ON CONFLICT (series_instance_uid) DO UPDATE"
        " SET number_of_instances = dicom_series.number_of_instances + excluded.number_of_instances"
        " WHERE excluded.number_of_instances > 0 RETURNING series_instance_uid, number_of_instances),"
        " new_series AS (SELECT c.series FROM ser JOIN per_series AS c ON c.series = ser.series_instance_uid"
        " WHERE c.n > 0 AND ser.number_of_instances = c.n),"
        " per_study AS (SELECT study, count(*)::integer AS n, sum(size)::bigint AS bytes,"
        " (count(DISTINCT series) FILTER (WHERE series IN (SELECT series FROM new_series)))::integer AS new_series"
        " FROM mine GROUP BY study),"
        " firsts AS (SELECT study, modality, min(ord) AS first FROM mine WHERE modality <> ''"
        " GROUP BY study, modality),"
        " per_study_modalities AS (SELECT study, array_agg(modality ORDER BY first) AS modalities FROM firsts"
        " GROUP BY study),"
        # Every series taken before the first study (see the docstring): reading `ser` to its end here is what
        # runs it first when no instance was inserted, since `per_study` then never looks at `new_series`.
        " series_taken AS (SELECT count(*) AS n FROM ser),"
        f" st AS (INSERT INTO dicom_studies ({study_names})"
        " SELECT v.*, coalesce(c.n, 0), coalesce(c.new_series, 0), coalesce(c.bytes, 0),"
        " coalesce(m.modalities, CAST('{}' AS text[]))"
        f" FROM {_unnest(dicom_studies, study_columns, 't_')}"
        " LEFT JOIN per_study AS c ON c.study = v.study_instance_uid"
        " LEFT JOIN per_study_modalities AS m ON m.study = v.study_instance_uid CROSS JOIN series_taken"
        " ORDER BY v.study_instance_uid"
        " ON CONFLICT (study_instance_uid) DO UPDATE SET"
        " number_of_instances = dicom_studies.number_of_instances + excluded.number_of_instances,"
        " number_of_series = dicom_studies.number_of_series + excluded.number_of_series,"
        " total_bytes = dicom_studies.total_bytes + excluded.total_bytes,"
        " modalities = dicom_studies.modalities || ARRAY(SELECT u.m FROM unnest(excluded.modalities)"
        " WITH ORDINALITY AS u(m, i) WHERE NOT (u.m = ANY(dicom_studies.modalities)) ORDER BY u.i),"
        " updated_at = excluded.updated_at"
        " WHERE excluded.number_of_instances > 0 RETURNING 1)"
        " SELECT sop_instance_uid FROM inst"
    )


async def insert_instances(conn: AsyncConnection, items: Sequence[NewInstance], now: datetime) -> set[str]:
    """Add instances and count them in their series and studies, in one statement whatever their number (atomic on
    its own: no transaction needed); the SOP Instance UIDs actually inserted (one already there is left alone and
    not counted).

    The study and series rows come from the first instance that names them. Counting happens only for rows actually
    inserted, so a concurrent duplicate never counts twice. The counts as `_insert_statement` describes them.
    """
    if not items:
        return set()
    studies: dict[str, dict[str, Any]] = {}
    series: dict[str, dict[str, Any]] = {}
    for item in items:
        studies.setdefault(
            item.study["study_instance_uid"],
            {**item.study, "hospital_id": item.hospital_id, "created_at": now, "updated_at": now},
        )
        series.setdefault(item.series["series_instance_uid"], {**item.series, "created_at": now})
    study_rows = [studies[uid] for uid in sorted(studies)]
    series_rows = [series[uid] for uid in sorted(series)]
    # In UID order (the order the rows are taken in), the first of a UID given twice first.
    instance_rows = sorted(
        ({**item.instance, "created_at": now} for item in items), key=lambda r: r["sop_instance_uid"]
    )
    columns = (tuple(study_rows[0]), tuple(series_rows[0]), tuple(instance_rows[0]))
    params: dict[str, Any] = {
        "m_sop": [item.instance["sop_instance_uid"] for item in items],
        "m_series": [item.series["series_instance_uid"] for item in items],
        "m_study": [item.study["study_instance_uid"] for item in items],
        "m_size": [item.instance["size"] for item in items],
        "m_modality": [item.modality for item in items],
    }
    for prefix, rows, names in zip(("t_", "s_", "i_"), (study_rows, series_rows, instance_rows), columns, strict=True):
        params.update({prefix + name: [row[name] for row in rows] for name in names})
    return set(await conn.scalars(_insert_statement(*columns), params))


# --- QIDO-RS search (PS3.18 §10.6): which column each supported matching attribute is held in.
_st, _se, _in = dicom_studies.c, dicom_series.c, dicom_instances.c
_shown_studies = dicom_studies.alias("shown")  # a QIDO-RS page's rows, joined to the page's keys (search_studies)
STUDY_MATCH_COLUMNS: dict[str, Column[Any]] = {
    "0020000D": _st.study_instance_uid,
    "00080020": _st.study_date,
    "00080030": _st.study_time,
    "00080050": _st.accession_number,
    "00080061": _st.modalities,
    "00080090": _st.referring_physician_search,
    "00081030": _st.study_description,
    "00100010": _st.patient_name_search,
    "00100020": _st.patient_id,
    "00100021": _st.issuer_of_patient_id,
    "00100030": _st.patient_birth_date,
    "00200010": _st.study_id,
}
SERIES_MATCH_COLUMNS: dict[str, Column[Any]] = {
    "0020000E": _se.series_instance_uid,
    "00080060": _se.modality,
    "00200011": _se.series_number,
    "0008103E": _se.series_description,
    "00400244": _se.performed_start_date,
    "00400245": _se.performed_start_time,
}
INSTANCE_MATCH_COLUMNS: dict[str, Column[Any]] = {
    "00080016": _in.sop_class_uid,
    "00080018": _in.sop_instance_uid,
    "00200013": _in.instance_number,
}


def match_condition(
    column: Column[Any], vr: str, value: str, *, uid_list: list[str], wildcard: bool
) -> ColumnElement[bool]:
    """C-FIND matching of one key against its column (PS3.4 C.2.2.2); PN matching is case-insensitive."""
    if column is _st.modalities:
        overlaps: ColumnElement[bool] = _st.modalities.overlap(sorted({v for v in value.split("\\") if v}))
        return overlaps
    if vr == "UI":
        return column.in_(uid_list) if len(uid_list) != 1 else column == uid_list[0]
    if vr in ("DA", "TM", "DT"):
        low, _, high = value.partition("-") if "-" in value else (value, "", value)
        parts = []
        if low:
            parts.append(column >= low)
        if high:
            # A time range's upper end covers the whole of its last unit ("1030" includes 10:30:59).
            parts.append(column <= high + ("\uffff" if vr != "DA" else ""))
        return and_(*parts)
    if vr in ("IS", "US", "UL", "SL", "SS"):
        try:
            return column == int(value)
        except ValueError:
            return false()
    if vr == "PN":
        value = value.upper()
    if wildcard:
        pattern = (
            value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%").replace("?", "_")
        )
        if vr == "PN":
            return or_(column.like(pattern), _any_group(column, pattern, like=True))
        return column.like(pattern)
    if vr == "PN":
        return or_(column == value, _any_group(column, value, like=False))
    return column == value


def _any_group(column: Column[Any], value: str, *, like: bool) -> ColumnElement[bool]:
    groups = func.unnest(func.string_to_array(column, "=")).table_valued("g").render_derived()
    condition = groups.c.g.like(value) if like else groups.c.g == value
    return exists(select(1).select_from(groups).where(condition))


def conditions(matches: list[tuple[Column[Any], str, str, list[str], bool]]) -> list[ColumnElement[bool]]:
    return [match_condition(c, vr, v, uid_list=uids, wildcard=w) for c, vr, v, uids, w in matches]


async def search_studies(
    conn: AsyncConnection, where: list[ColumnElement[bool]], *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Matching studies, newest first (a fixed order, so paging is stable: QIDO-06), and the total count.

    The page is chosen and counted over the narrow sort keys only, then joined to its rows for their attributes: a
    count over the wide rows kept every match's attributes for the window (8 MB for 10,000 studies, spilled to disk
    past work_mem) and sorted them all, to return 100."""
    page = (
        select(_st.study_instance_uid, _st.study_date, _st.study_time, func.count().over().label("total"))
        .where(*where)
        .order_by(_st.study_date.desc(), _st.study_time.desc(), _st.study_instance_uid)
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    shown = _shown_studies
    query = (
        select(
            shown.c.study_instance_uid,
            shown.c.modalities,
            shown.c.number_of_series,
            shown.c.number_of_instances,
            shown.c.attributes,
            page.c.total,
        )
        .join_from(page, shown, shown.c.study_instance_uid == page.c.study_instance_uid)
        .order_by(page.c.study_date.desc(), page.c.study_time.desc(), page.c.study_instance_uid)
    )
    rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    total = (
        rows[0]["total"] if rows else await _count(conn, select(func.count()).select_from(dicom_studies).where(*where))
    )
    return rows, int(total)


async def search_series(
    conn: AsyncConnection, where: list[ColumnElement[bool]], *, with_study: bool, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    columns = [
        _se.series_instance_uid,
        _se.study_instance_uid,
        _se.number_of_instances,
        _se.attributes,
        func.count().over().label("total"),
    ]
    if with_study:
        columns += [_st.attributes.label("study_attributes"), _st.modalities, _st.number_of_series,
                    _st.number_of_instances.label("study_instances")]  # fmt: skip
    query = (
        select(*columns)
        .select_from(dicom_series.join(dicom_studies, _se.study_instance_uid == _st.study_instance_uid))
        .where(*where)
        .order_by(_se.study_instance_uid, _se.series_number.nulls_last(), _se.series_instance_uid)
        .limit(limit)
        .offset(offset)
    )
    rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    return rows, int(rows[0]["total"]) if rows else 0


async def search_instances(
    conn: AsyncConnection, where: list[ColumnElement[bool]], *, with_metadata: bool, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    columns = [
        _in.sop_instance_uid, _in.series_instance_uid, _in.study_instance_uid, _in.sop_class_uid,
        _in.instance_number, _in.rows, _in.columns, _in.bits_allocated, _in.number_of_frames,
        _se.attributes.label("series_attributes"), _st.attributes.label("study_attributes"),
        func.count().over().label("total"),
    ]  # fmt: skip
    if with_metadata:
        columns.append(_in.metadata)
    query = (
        select(*columns)
        .select_from(
            dicom_instances.join(dicom_series, _in.series_instance_uid == _se.series_instance_uid).join(
                dicom_studies, _in.study_instance_uid == _st.study_instance_uid
            )
        )
        .where(*where)
        .order_by(_in.series_instance_uid, _in.instance_number.nulls_last(), _in.sop_instance_uid)
        .limit(limit)
        .offset(offset)
    )
    rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    return rows, int(rows[0]["total"]) if rows else 0


async def _count(conn: AsyncConnection, query: Any) -> int:
    return int(await conn.scalar(query) or 0)


# --- WADO-RS retrieval: the rows a retrieve needs, already limited to what the principal may see.


async def visible_study(conn: AsyncConnection, p: Principal, study_instance_uid: str) -> bool:
    found = await conn.scalar(
        select(_st.study_instance_uid).where(_st.study_instance_uid == study_instance_uid, visible_studies(p))
    )
    return found is not None


async def visible_instances(
    conn: AsyncConnection,
    p: Principal,
    study_instance_uid: str,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    *,
    metadata: bool = False,
) -> list[dict[str, Any]]:
    """`instances_of`, limited to a study `p` may see, in one round trip (a viewer makes hundreds of these)."""
    query = _visible_instances(p, series_instance_uid is not None, sop_instance_uid is not None, metadata)
    params: dict[str, str] = {"study": study_instance_uid}
    if series_instance_uid is not None:
        params["series"] = series_instance_uid
    if sop_instance_uid is not None:
        params["sop"] = sop_instance_uid
    return [dict(r) for r in (await conn.execute(query, params)).mappings()]


async def visible_series_rows(
    conn: AsyncConnection, p: Principal, study_instance_uid: str, series_instance_uid: str, limit: int
) -> list[dict[str, Any]]:
    """`visible_instances` of one series without metadata (the rows a frame or rendered request locates), the first
    `limit` of them in its order: a viewer scrolling the series gets every slice's row in one round trip."""
    query = _visible_series(p, limit)
    params = {"study": study_instance_uid, "series": series_instance_uid}
    return [dict(r) for r in (await conn.execute(query, params)).mappings()]


@functools.lru_cache(maxsize=1024)
def _visible_series(p: Principal, limit: int) -> Select[Any]:
    """`_visible_instances`' statement for a series, limited; built once per caller as that one is."""
    return _visible_instances(p, True, False, False).limit(limit)


@functools.lru_cache(maxsize=1024)
def _visible_instances(p: Principal, series: bool, sop: bool, metadata: bool) -> Select[Any]:
    """The statement for one caller and one shape of request, built once: a viewer's next request neither builds
    the access rule's clauses again nor recomputes the statement's cache key (SQLAlchemy memoises it per object).
    Keyed by the whole principal, so a caller whose role or hospital changes gets a statement of their own."""
    query = _instances_query(
        bindparam("study"), bindparam("series") if series else None, bindparam("sop") if sop else None,
        metadata=metadata,
    )  # fmt: skip
    return query.join_from(dicom_instances, dicom_studies, _in.study_instance_uid == _st.study_instance_uid).where(
        visible_studies(p)
    )


def _instances_query(
    study_instance_uid: str | BindParameter[str],
    series_instance_uid: str | BindParameter[str] | None,
    sop_instance_uid: str | BindParameter[str] | None,
    *,
    metadata: bool,
) -> Select[Any]:
    columns = [_in.sop_instance_uid, _in.series_instance_uid, _in.transfer_syntax_uid, _in.blob_key, _in.size,
               _in.sop_class_uid, _in.number_of_frames]  # fmt: skip
    if metadata:
        columns.append(_in.metadata)
    query = select(*columns).where(_in.study_instance_uid == study_instance_uid)
    if series_instance_uid is not None:
        query = query.where(_in.series_instance_uid == series_instance_uid)
    if sop_instance_uid is not None:
        query = query.where(_in.sop_instance_uid == sop_instance_uid)
    return query.order_by(_in.series_instance_uid, _in.instance_number.nulls_last(), _in.sop_instance_uid)


async def instances_of(
    conn: AsyncConnection,
    study_instance_uid: str,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    *,
    metadata: bool = False,
) -> list[dict[str, Any]]:
    """The instances of a study, series or one instance, in series then instance-number order."""
    query = _instances_query(study_instance_uid, series_instance_uid, sop_instance_uid, metadata=metadata)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def key_instances(conn: AsyncConnection, study_instance_uid: str, hospital_id: str, limit: int = 4) -> list[str]:
    """The middle image of each series of a hospital's study (the most typical slice): the patient's key images."""
    ranked = (
        select(
            _in.sop_instance_uid,
            _in.series_instance_uid,
            func.row_number()
            .over(
                partition_by=_in.series_instance_uid, order_by=(_in.instance_number.nulls_last(), _in.sop_instance_uid)
            )
            .label("n"),
            func.count().over(partition_by=_in.series_instance_uid).label("total"),
        )
        .select_from(dicom_instances.join(dicom_studies, _in.study_instance_uid == _st.study_instance_uid))
        .where(_in.study_instance_uid == study_instance_uid, _st.hospital_id == hospital_id)
        .subquery()
    )
    query = (
        select(ranked.c.sop_instance_uid)
        # Integer division: SQLAlchemy 2 makes `/` a true division, and 3.5 matches no row of a 6-image series.
        .where(ranked.c.n == (ranked.c.total + 1) // 2)
        .order_by(ranked.c.series_instance_uid)
        .limit(limit)
    )
    return list((await conn.scalars(query)).all())


async def instance_of_study(
    conn: AsyncConnection, study_instance_uid: str, sop_instance_uid: str
) -> dict[str, Any] | None:
    row = (
        (
            await conn.execute(
                select(_in.blob_key, _in.number_of_frames).where(
                    _in.study_instance_uid == study_instance_uid, _in.sop_instance_uid == sop_instance_uid
                )
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None
