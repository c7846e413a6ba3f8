"""The archive's index rows and counters (db/queries/imaging.insert_instances, one statement per batch) against the
transaction of separate statements it replaced (kept here as the reference): the same rows, counters and modalities
after the same batches, whatever was stored before; and batches that meet on the same rows in parallel neither
deadlock nor count an instance twice."""

from __future__ import annotations

import asyncio
import functools
import random
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    String,
    Table,
    TextClause,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yilian.db.engine import single_statement
from yilian.db.queries import retention as retention_queries
from yilian.db.queries.imaging import NewInstance, insert_instances
from yilian.db.schema import dicom_instances, dicom_series, dicom_studies
from yilian.imaging.index import index_rows

pytestmark = pytest.mark.integration

HOSPITALS = ("h-anping", "h-qingshan")
MODALITIES = ("CT", "MR", "", "PT", "SR")


# --- The reference: insert_instances as it was before the one statement (main at 8bd642f), in one transaction.

_LOCK_SERIES = text(
    "SELECT 1 FROM dicom_series WHERE series_instance_uid = ANY(CAST(:uids AS text[]))"
    " ORDER BY series_instance_uid FOR NO KEY UPDATE"
)
_LOCK_STUDIES = text(
    "SELECT 1 FROM dicom_studies WHERE study_instance_uid = ANY(CAST(:uids AS text[]))"
    " ORDER BY study_instance_uid FOR NO KEY UPDATE"
)
_COUNT_SERIES = text(
    "UPDATE dicom_series AS s SET number_of_instances = s.number_of_instances + v.n"
    " FROM unnest(CAST(:uids AS text[]), CAST(:counts AS integer[])) AS v(uid, n)"
    " WHERE s.series_instance_uid = v.uid"
    " RETURNING s.series_instance_uid, s.number_of_instances = v.n AS is_new"
)
_COUNT_STUDIES = text(
    "UPDATE dicom_studies AS s SET"
    " number_of_instances = s.number_of_instances + v.n,"
    " number_of_series = s.number_of_series + v.new_series,"
    " total_bytes = s.total_bytes + v.bytes,"
    " modalities = s.modalities || ARRAY("
    "   SELECT m FROM unnest(string_to_array(v.modalities, E'\\\\')) WITH ORDINALITY AS u(m, i)"
    "   WHERE m <> '' AND NOT (m = ANY(s.modalities)) ORDER BY i),"
    " updated_at = :now"
    " FROM unnest(CAST(:uids AS text[]), CAST(:counts AS integer[]), CAST(:new_series AS integer[]),"
    "   CAST(:bytes AS bigint[]), CAST(:modalities AS text[])) AS v(uid, n, new_series, bytes, modalities)"
    " WHERE s.study_instance_uid = v.uid"
)
_ARRAY_TYPES = ((DateTime, "timestamptz[]"), (BigInteger, "bigint[]"), (Integer, "integer[]"), (String, "text[]"))


@functools.lru_cache(maxsize=32)
def _unnest_insert(table: Table, columns: tuple[str, ...]) -> TextClause:
    [key] = table.primary_key.columns
    casts = []
    for name in columns:
        kind = next(array for sql_type, array in _ARRAY_TYPES if isinstance(table.c[name].type, sql_type))
        casts.append(f"CAST(:{name} AS {kind})")
    names = ", ".join(f'"{name}"' for name in columns)
    return text(
        f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({', '.join(casts)})"
        f' ON CONFLICT ("{key.name}") DO NOTHING RETURNING "{key.name}"'
    )


async def _insert_rows(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> list[str]:
    columns = tuple(rows[0])
    result = await conn.scalars(_unnest_insert(table, columns), {name: [row[name] for row in rows] for name in columns})
    return list(result)


async def reference_insert_instances(conn: AsyncConnection, items: Sequence[NewInstance], now: datetime) -> set[str]:
    studies: dict[str, dict[str, Any]] = {}
    series: dict[str, dict[str, Any]] = {}
    for item in items:
        studies.setdefault(
            item.study["study_instance_uid"],
            {**item.study, "hospital_id": item.hospital_id, "created_at": now, "updated_at": now},
        )
        series.setdefault(item.series["series_instance_uid"], {**item.series, "created_at": now})
    await _insert_rows(conn, dicom_studies, [studies[uid] for uid in sorted(studies)])
    await _insert_rows(conn, dicom_series, [series[uid] for uid in sorted(series)])
    rows = sorted(({**item.instance, "created_at": now} for item in items), key=lambda r: r["sop_instance_uid"])
    inserted = set(await _insert_rows(conn, dicom_instances, rows))
    mine = [item for item in items if item.instance["sop_instance_uid"] in inserted]
    if not mine:
        return inserted
    per_series = Counter(item.series["series_instance_uid"] for item in mine)
    if len(per_series) > 1:
        await conn.execute(_LOCK_SERIES, {"uids": sorted(per_series)})
    counted = await conn.execute(
        _COUNT_SERIES, {"uids": sorted(per_series), "counts": [per_series[uid] for uid in sorted(per_series)]}
    )
    new_series = {uid for uid, is_new in counted if is_new}
    per_study: dict[str, dict[str, Any]] = {}
    for item in mine:
        study = per_study.setdefault(
            item.study["study_instance_uid"], {"n": 0, "new_series": set(), "bytes": 0, "modalities": []}
        )
        study["n"] += 1
        study["bytes"] += item.instance["size"]
        if item.series["series_instance_uid"] in new_series:
            study["new_series"].add(item.series["series_instance_uid"])
        if item.modality and item.modality not in study["modalities"]:
            study["modalities"].append(item.modality)
    uids = sorted(per_study)
    if len(uids) > 1:
        await conn.execute(_LOCK_STUDIES, {"uids": uids})
    await conn.execute(
        _COUNT_STUDIES,
        {
            "uids": uids,
            "counts": [per_study[uid]["n"] for uid in uids],
            "new_series": [len(per_study[uid]["new_series"]) for uid in uids],
            "bytes": [per_study[uid]["bytes"] for uid in uids],
            "modalities": ["\\".join(per_study[uid]["modalities"]) for uid in uids],
            "now": now,
        },
    )
    return inserted


# --- Generated batches.


def _item(rng: random.Random, study: str, series: str, sop: str, modality: str, hospital: str) -> NewInstance:
    """An instance's rows as ingest makes them (imaging/index.py, then ingest._new_instance), from a small header."""
    full: dict[str, Any] = {
        "0020000D": {"vr": "UI", "Value": [study]},
        "0020000E": {"vr": "UI", "Value": [series]},
        "00080018": {"vr": "UI", "Value": [sop]},
        "00100020": {"vr": "LO", "Value": [f"P{rng.randrange(5)}"]},
        "00080020": {"vr": "DA", "Value": [f"2026{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"]},
        "00200013": {"vr": "IS", "Value": [rng.randrange(1, 50)]},
        "0008103E": {"vr": "LO", "Value": [rng.choice(["AX", "COR", "SAG 2"])]},
    }
    if modality:
        full["00080060"] = {"vr": "CS", "Value": [modality]}
    ix = index_rows(full, study, series, sop, "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.1")
    digest = uuid.uuid4().hex * 2
    size = rng.randrange(1_000, 3_000_000_000)  # past 2**31: total_bytes is a bigint
    instance = dict(ix.instance, sha256=digest, size=size, blob_key=digest, origin="stow", received_by="test")
    return NewInstance(hospital, ix.study, ix.series, instance, ix.modality)


def _scenario(rng: random.Random) -> list[list[NewInstance]]:
    """Batches over a few studies, series and instances that overlap: instances sent again (the same or another
    copy), series that arrive over several batches, a series whose instances name another study than its row, studies
    of two hospitals, instances without a modality, and the same SOP Instance UID twice in one batch."""
    tag = uuid.uuid4().hex[:8]
    studies = [f"1.2.826.0.1.{tag}.{rng.randrange(10**6)}.{k}" for k in range(rng.randrange(1, 4))]
    series = [
        (f"1.2.826.0.2.{tag}.{k}", rng.choice(studies), rng.choice(MODALITIES)) for k in range(rng.randrange(1, 6))
    ]
    sops = [f"1.2.826.0.3.{tag}.{k}" for k in range(rng.randrange(2, 30))]
    batches = []
    for _ in range(rng.randrange(1, 6)):
        batch = []
        for sop in rng.sample(sops, rng.randrange(1, min(len(sops), 17) + 1)):
            series_uid, study_uid, modality = rng.choice(series)
            if rng.random() < 0.1:  # an instance naming another study than its series' first instance did
                study_uid = rng.choice(studies)
            if rng.random() < 0.1:
                modality = rng.choice(MODALITIES)
            hospital = HOSPITALS[0] if rng.random() < 0.9 else HOSPITALS[1]
            batch.append(_item(rng, study_uid, series_uid, sop, modality, hospital))
        if rng.random() < 0.15:
            batch.append(batch[0])
        batches.append(batch)
    return batches


async def _rows(conn: AsyncConnection, batches: list[list[NewInstance]]) -> dict[str, list[dict[str, Any]]]:
    studies = {i.study["study_instance_uid"] for b in batches for i in b}
    series = {i.series["series_instance_uid"] for b in batches for i in b}
    sops = {i.instance["sop_instance_uid"] for b in batches for i in b}
    out = {}
    for table, key, uids in (
        (dicom_studies, dicom_studies.c.study_instance_uid, studies),
        (dicom_series, dicom_series.c.series_instance_uid, series),
        (dicom_instances, dicom_instances.c.sop_instance_uid, sops),
    ):
        rows = await conn.execute(select(table).where(key.in_(sorted(uids))).order_by(key))
        out[table.name] = [dict(r) for r in rows.mappings()]
    return out


async def _apply(
    engine: AsyncEngine, insert: Any, batches: list[list[NewInstance]], before: list[NewInstance]
) -> tuple[list[set[str]], dict[str, list[dict[str, Any]]]]:
    """Each batch through `insert` after `before` (stored one by one by the reference), in a transaction rolled back
    at the end: what each batch inserted, and every row of the scenario's UIDs."""
    start = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            for k, item in enumerate(before):
                await reference_insert_instances(conn, [item], start + timedelta(seconds=k))
            inserted = [await insert(conn, batch, start + timedelta(minutes=k + 1)) for k, batch in enumerate(batches)]
            return inserted, await _rows(conn, batches)
        finally:
            await transaction.rollback()


async def test_the_one_statement_stores_and_counts_as_the_separate_statements_did(engine: AsyncEngine) -> None:
    rng = random.Random(20261207)
    differences = []
    for case in range(150):
        batches = _scenario(rng)
        pool = [i for b in batches for i in b]
        # Some of the scenario's instances (or other copies of them) stored beforehand, one by one.
        before = [i for i in pool if rng.random() < 0.2]
        expected = await _apply(engine, reference_insert_instances, batches, before)
        got = await _apply(engine, insert_instances, batches, before)
        if got != expected:
            differences.append((case, expected, got))
    assert not differences, differences[0]


async def test_parallel_batches_on_the_same_rows_neither_deadlock_nor_count_twice(engine: AsyncEngine) -> None:
    """Eight batches at once over two studies and their three series, each with the instances in its own order and
    overlapping the others: each instance is counted once, each series once, whatever order they commit in."""
    rng = random.Random(7)
    tag = uuid.uuid4().hex[:8]
    studies = [f"1.2.826.0.4.{tag}.{k}" for k in range(2)]
    series = [(f"1.2.826.0.5.{tag}.{k}", studies[k % 2], ("CT", "MR", "PT")[k]) for k in range(3)]
    items = []
    for k in range(60):
        series_uid, study_uid, modality = series[k % 3]
        items.append(_item(rng, study_uid, series_uid, f"1.2.826.0.6.{tag}.{k}", modality, HOSPITALS[0]))
    now = datetime.now(UTC)

    async def store(batch: list[NewInstance]) -> set[str]:
        async with single_statement(engine) as conn:
            return await insert_instances(conn, batch, now)

    # 20 rounds: before series_taken, one batch in about 400 deadlocked, most often in the later rounds, whose
    # batches have all been sent before.
    for _ in range(20):
        batches = [rng.sample(items, 16) for _ in range(8)]
        await asyncio.gather(*(store(batch) for batch in batches))
    sent = {i.instance["sop_instance_uid"]: i for i in items}
    async with single_statement(engine) as conn:
        inserted = await conn.scalars(
            select(dicom_instances.c.sop_instance_uid).where(dicom_instances.c.study_instance_uid.in_(studies))
        )
        stored = [sent[uid] for uid in inserted]
        rows = await _rows(conn, [items])
    per_series = Counter(i.series["series_instance_uid"] for i in stored)
    assert {r["series_instance_uid"]: r["number_of_instances"] for r in rows["dicom_series"]} == {
        uid: per_series.get(uid, 0) for uid, _, _ in series
    }
    for row in rows["dicom_studies"]:
        mine = [i for i in stored if i.study["study_instance_uid"] == row["study_instance_uid"]]
        assert row["number_of_instances"] == len(mine)
        assert row["total_bytes"] == sum(i.instance["size"] for i in mine)
        assert row["number_of_series"] == len({i.series["series_instance_uid"] for i in mine})
        assert sorted(row["modalities"]) == sorted({i.modality for i in mine})


@pytest.mark.parametrize("new_in_other_series", [False, True], ids=["all-sent-before", "one-new-in-another-series"])
async def test_a_batch_takes_its_series_before_its_studies(engine: AsyncEngine, new_in_other_series: bool) -> None:
    """Every batch locks its rows table by table, series before studies, whatever it inserts: a batch whose
    instances were all stored before must not hold its study while it waits for a series (the order in which the
    parallel test above deadlocked one batch against another, about once in 400 batches). A series row is held
    elsewhere; once the batch waits, its study must still be free."""
    rng = random.Random(11)
    tag = uuid.uuid4().hex[:8]
    study, held, other = f"1.2.826.0.7.{tag}", f"1.2.826.0.8.{tag}.2", f"1.2.826.0.8.{tag}.1"
    first = _item(rng, study, held, f"1.2.826.0.9.{tag}.1", "CT", HOSPITALS[0])
    now = datetime.now(UTC)
    async with single_statement(engine) as conn:
        await insert_instances(conn, [first], now)
    batch = [first]
    if new_in_other_series:  # its series sorts before the held one, so it is taken before the wait
        batch.append(_item(rng, study, other, f"1.2.826.0.9.{tag}.2", "MR", HOSPITALS[0]))

    async def store() -> set[str]:
        async with single_statement(engine) as conn:
            return await insert_instances(conn, batch, now)

    async with engine.connect() as holder, engine.connect() as probe:
        await holder.begin()
        await holder.execute(
            select(dicom_series.c.series_instance_uid)
            .where(dicom_series.c.series_instance_uid == held)
            .with_for_update(key_share=False, read=False)
        )
        holder_pid = (await holder.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        task = asyncio.create_task(store())
        try:
            await _waits_for(probe, holder_pid, within=10.0)
            study_is_free = await probe.execute(
                text(
                    "SELECT count(*) FROM (SELECT 1 FROM dicom_studies WHERE study_instance_uid = :uid"
                    " FOR NO KEY UPDATE SKIP LOCKED) AS free"
                ),
                {"uid": study},
            )
            assert study_is_free.scalar_one() == 1, "the batch holds its study while it waits for a series"
            await probe.rollback()
        finally:
            await holder.rollback()
            inserted = await asyncio.wait_for(task, 10.0)
    assert inserted == ({batch[1].instance["sop_instance_uid"]} if new_in_other_series else set())


async def _waits_for(conn: AsyncConnection, pid: int, *, within: float) -> None:
    """Until a backend waits for a lock that `pid` holds; fails by name at the deadline."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        waiting = await conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"), {"pid": pid}
        )
        found = waiting.scalar_one()
        await conn.rollback()  # the activity view is a snapshot per transaction
        if found:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no backend waited for the series lock held by backend {pid} within {within} s")
        await asyncio.sleep(0.02)


async def test_a_study_deleted_while_its_instances_are_sent_again_neither_deadlocks_nor_loses_them(
    engine: AsyncEngine,
) -> None:
    """Deleting a study (api/routes/retention.py) takes its series before its study row, the order a batch takes
    them: a batch sending the study again meanwhile waits for the deletion, then stores its instances anew. (Taking
    the study first, the deletion held it while the batch held a series and waited for the study.)"""
    rng = random.Random(13)
    tag = uuid.uuid4().hex[:8]
    study, series = f"1.2.826.0.10.{tag}", f"1.2.826.0.11.{tag}"
    old = _item(rng, study, series, f"1.2.826.0.12.{tag}.1", "CT", HOSPITALS[0])
    again = _item(rng, study, series, f"1.2.826.0.12.{tag}.2", "CT", HOSPITALS[0])
    now = datetime.now(UTC)
    async with single_statement(engine) as conn:
        await insert_instances(conn, [old], now)

    async def send_again() -> set[str]:
        async with single_statement(engine) as conn:
            return await insert_instances(conn, [again], now)

    async with engine.connect() as deletion, engine.connect() as probe:
        await deletion.begin()
        assert await retention_queries.lock_for_deletion(deletion, study) is not None
        deleter = (await deletion.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        task = asyncio.create_task(send_again())
        try:
            await _waits_for(probe, deleter, within=10.0)
            assert await retention_queries.delete_study(deletion, study) == (1, [old.instance["blob_key"]])
            await deletion.commit()
        finally:
            await deletion.rollback()
            inserted = await asyncio.wait_for(task, 10.0)
    assert inserted == {again.instance["sop_instance_uid"]}
    async with single_statement(engine) as conn:
        rows = await _rows(conn, [[old, again]])
    assert [r["sop_instance_uid"] for r in rows["dicom_instances"]] == [again.instance["sop_instance_uid"]]
    assert [r["number_of_instances"] for r in rows["dicom_series"]] == [1]
    assert [(r["number_of_instances"], r["total_bytes"]) for r in rows["dicom_studies"]] == [
        (1, again.instance["size"])
    ]
