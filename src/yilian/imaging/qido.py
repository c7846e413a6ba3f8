"""QIDO-RS search over the archive index (PS3.18 §10.6), limited to the studies the caller may see."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ColumnElement
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries import access
from yilian.db.queries import imaging as queries
from yilian.dicom.qido import QidoQuery, QueryLevel
from yilian.domain.access import Principal

_ONLINE = {"vr": "CS", "Value": ["ONLINE"]}


class Resource(StrEnum):
    """The six search resources of PS3.18 Table 10.6.1-1, each with the levels it matches on (10.6.1-4)."""

    ALL_STUDIES = "studies"
    STUDY_SERIES = "study series"
    STUDY_INSTANCES = "study instances"
    ALL_SERIES = "series"
    SERIES_INSTANCES = "series instances"
    ALL_INSTANCES = "instances"


LEVELS: dict[Resource, tuple[QueryLevel, ...]] = {
    Resource.ALL_STUDIES: (QueryLevel.STUDY,),
    Resource.STUDY_SERIES: (QueryLevel.SERIES,),
    Resource.STUDY_INSTANCES: (QueryLevel.SERIES, QueryLevel.INSTANCE),
    Resource.ALL_SERIES: (QueryLevel.STUDY, QueryLevel.SERIES),
    Resource.SERIES_INSTANCES: (QueryLevel.INSTANCE,),
    Resource.ALL_INSTANCES: (QueryLevel.STUDY, QueryLevel.SERIES, QueryLevel.INSTANCE),
}
_COLUMNS = {
    QueryLevel.STUDY: queries.STUDY_MATCH_COLUMNS,
    QueryLevel.SERIES: queries.SERIES_MATCH_COLUMNS,
    QueryLevel.INSTANCE: queries.INSTANCE_MATCH_COLUMNS,
}
# Instance attributes returned from the index without opening the stored metadata (Table 10.6.3-5).
_INSTANCE_COLUMNS = {
    "00080016": ("sop_class_uid", "UI"),
    "00080018": ("sop_instance_uid", "UI"),
    "00200013": ("instance_number", "IS"),
    "00280010": ("rows", "US"),
    "00280011": ("columns", "US"),
    "00280100": ("bits_allocated", "US"),
    "00280008": ("number_of_frames", "IS"),
}


@dataclass(frozen=True)
class SearchResult:
    items: list[dict[str, Any]]
    remaining: int  # matches beyond this page (QIDO-06 Warning)
    warnings: list[str]


async def search(
    conn: AsyncConnection,
    principal: Principal,
    resource: Resource,
    query: QidoQuery,
    base: str,
    study_instance_uid: str | None = None,
    series_instance_uid: str | None = None,
) -> SearchResult:
    """Run one QIDO-RS search; `base` is the request's own DICOMweb root, used for RetrieveURLs."""
    levels = LEVELS[resource]
    where: list[ColumnElement[bool]] = [access.visible_studies(principal)]
    if study_instance_uid is not None:
        where.append(queries.STUDY_MATCH_COLUMNS["0020000D"] == study_instance_uid)
    if series_instance_uid is not None:
        where.append(queries.SERIES_MATCH_COLUMNS["0020000E"] == series_instance_uid)
    warnings = list(query.warnings)
    ignored = []
    for match in query.matches:
        if match.is_universal:
            continue
        column: Column[Any] | None = next(
            (_COLUMNS[level][match.tag] for level in levels if match.tag in _COLUMNS[level]), None
        )
        if column is None:
            ignored.append(match.tag)
            continue
        where.append(
            queries.match_condition(
                column, match.vr, match.value, uid_list=match.uid_list(), wildcard=match.is_wildcard
            )
        )
    if ignored:
        warnings.append(f"These attributes are not supported for matching and were ignored: {', '.join(ignored)}")
    limit = query.limit if query.limit is not None else 0
    if resource is Resource.ALL_STUDIES:
        rows, total = await queries.search_studies(conn, where, limit=limit, offset=query.offset)
        items = [_study_item(row, base) for row in rows]
    elif resource in (Resource.STUDY_SERIES, Resource.ALL_SERIES):
        with_study = resource is Resource.ALL_SERIES
        rows, total = await queries.search_series(conn, where, with_study=with_study, limit=limit, offset=query.offset)
        items = [_series_item(row, base, with_study) for row in rows]
    else:
        extra = query.include_all or bool(query.include - _INSTANCE_COLUMNS.keys())
        rows, total = await queries.search_instances(conn, where, with_metadata=extra, limit=limit, offset=query.offset)
        items = [_instance_item(row, base, resource, query) for row in rows]
    remaining = max(0, total - query.offset - len(items))
    return SearchResult(items, remaining, warnings)


def _study_item(row: dict[str, Any], base: str) -> dict[str, Any]:
    item: dict[str, Any] = json.loads(row["attributes"])
    _study_counts(item, row["modalities"], row["number_of_series"], row["number_of_instances"])
    item["00081190"] = {"vr": "UR", "Value": [f"{base}/studies/{row['study_instance_uid']}"]}
    return item


def _study_counts(item: dict[str, Any], modalities: list[str], n_series: int, n_instances: int) -> None:
    item["00080056"] = _ONLINE
    item["00080061"] = {"vr": "CS", "Value": list(modalities)} if modalities else {"vr": "CS"}
    item["00201206"] = {"vr": "IS", "Value": [n_series]}
    item["00201208"] = {"vr": "IS", "Value": [n_instances]}


def _series_item(row: dict[str, Any], base: str, with_study: bool) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if with_study:
        item.update(json.loads(row["study_attributes"]))
        _study_counts(item, row["modalities"], row["number_of_series"], row["study_instances"])
    item.update(json.loads(row["attributes"]))
    item["0020000D"] = {"vr": "UI", "Value": [row["study_instance_uid"]]}
    item["00201209"] = {"vr": "IS", "Value": [row["number_of_instances"]]}
    item["00081190"] = {
        "vr": "UR",
        "Value": [f"{base}/studies/{row['study_instance_uid']}/series/{row['series_instance_uid']}"],
    }
    return item


def _instance_item(row: dict[str, Any], base: str, resource: Resource, query: QidoQuery) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if resource is Resource.ALL_INSTANCES:
        item.update(json.loads(row["study_attributes"]))
    if resource in (Resource.ALL_INSTANCES, Resource.STUDY_INSTANCES):
        item.update(json.loads(row["series_attributes"]))
    if "metadata" in row:
        full = json.loads(row["metadata"])
        wanted = full.keys() if query.include_all else query.include
        item.update({tag: full[tag] for tag in wanted if tag in full and "BulkDataURI" not in full[tag]})
    for tag, (column, vr) in _INSTANCE_COLUMNS.items():
        value = row[column]
        item[tag] = {"vr": vr, "Value": [value]} if value is not None else {"vr": vr}
    item["0020000D"] = {"vr": "UI", "Value": [row["study_instance_uid"]]}
    item["0020000E"] = {"vr": "UI", "Value": [row["series_instance_uid"]]}
    item["00080056"] = _ONLINE
    item["00081190"] = {
        "vr": "UR",
        "Value": [
            f"{base}/studies/{row['study_instance_uid']}/series/{row['series_instance_uid']}"
            f"/instances/{row['sop_instance_uid']}"
        ],
    }
    return item
