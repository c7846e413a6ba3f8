"""Report search end to end: a report signed through the real workflow is indexed by its activity, found through
the API in Chinese and by an English synonym, audited; an addendum re-indexes it; a stopped node loses nothing;
a reindex swaps the alias; doctor compares the counts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support.api import Api
from tests.support.matrix import walk
from tests.support.search import SearchNode, fresh_alias, index_without_countable_facets, signed
from tests.support.wait import wait_until
from yilian.api.app import create_app
from yilian.config import Settings
from yilian.db.queries import search as search_queries
from yilian.db.schema import search_events
from yilian.runtime import doctor
from yilian.search import index as ix
from yilian.search.reindex import reindex
from yilian.search.reports import ReportIndex

pytestmark = pytest.mark.integration


async def _doc(search_settings: Settings, referral_id: str) -> dict[str, Any] | None:
    assert search_settings.opensearch_url
    index = ReportIndex.from_url(search_settings.opensearch_url, search_settings.search_alias)
    try:
        return await index.get(referral_id)
    finally:
        await index.close()


async def _indexed(search_settings: Settings, referral_id: str, version: int | None = None) -> dict[str, Any]:
    async def look() -> dict[str, Any] | None:
        return await _doc(search_settings, referral_id)

    doc = await wait_until(
        look,
        f"{referral_id} in the index" + (f" at version {version}" if version else ""),
        ok=lambda d: d is not None and (version is None or d["report_version"] >= version),
        within=120,
        every=0.5,
    )
    assert doc is not None
    return doc


async def _searches(engine: AsyncEngine, user: str) -> int:
    async with engine.connect() as conn:
        n = await conn.scalar(select(func.count()).select_from(search_events).where(search_events.c.user_id == user))
    return int(n or 0)


async def _found(api: Api, user: str, q: str, **params: Any) -> dict[str, Any]:
    async def look() -> dict[str, Any]:
        return await api.ok(user, "GET", "/api/search", params={"q": q, **params})  # type: ignore[no-any-return]

    return await look()


async def test_signed_report_is_found_by_chinese_and_english(
    search_api: Api, engine: AsyncEngine, search_settings: Settings
) -> None:
    rid = await walk(search_api, engine, "returned")
    doc = await _indexed(search_settings, rid)
    assert doc["signer_id"] == "chen.senior" and "磨玻璃结节" in doc["findings"][0]
    await wait_until(lambda: _found(search_api, "zhao.anping", "磨玻璃结节"), f"{rid} searchable (refresh)",
                     ok=lambda a: rid in [h["referral_id"] for h in a["items"]], within=10)  # fmt: skip

    for q in ("磨玻璃结节", "ground-glass nodule", "GGO 右上叶", '"右肺上叶见一约8mm"'):
        answer = await _found(search_api, "zhao.anping", q, limit=100)
        hit = next((h for h in answer["items"] if h["referral_id"] == rid), None)
        assert hit is not None, f"{q!r} did not find {rid}: {answer['total']} others"
        assert any(p["hit"] for f in hit["highlights"] for p in f["pieces"]), hit["highlights"]
        assert hit["hospital_id"] == "h-anping" and hit["modality"] == "CT"
    answer = await _found(search_api, "zhao.anping", "磨玻璃结节")
    assert answer["slots"][0][0] == "磨玻璃结节" and "GGO" in answer["slots"][0]
    assert {f["value"] for f in answer["facets"]["modality"]} >= {"CT"} and answer["facets_available"] is True

    # the other county does not find it; the audit has both searches
    other = await _found(search_api, "sun.qingshan", "磨玻璃结节", limit=100)
    assert rid not in [h["referral_id"] for h in other["items"]]
    async with engine.connect() as conn:
        mine = await search_queries.searches_of(conn, "sun.qingshan", limit=1)
    assert mine and mine[0]["query"]["q"] == "磨玻璃结节" and mine[0]["kind"] == "search"
    assert mine[0]["total"] == other["total"] and mine[0]["hospital_id"] == "h-qingshan"


async def test_an_addendum_is_indexed_again(search_api: Api, engine: AsyncEngine, search_settings: Settings) -> None:
    rid = await walk(search_api, engine, "returned")
    first = await _indexed(search_settings, rid)
    addendum = {
        "findings": "补充：肝右叶见小囊肿。 Addendum: small cyst in the right hepatic lobe.",
        "impression": "肝囊肿。 Hepatic cyst.",
        "structured": {},
    }
    await search_api.ok("wang.expert", "POST", f"/api/referrals/{rid}/addenda", json=addendum)
    doc = await _indexed(search_settings, rid, first["report_version"] + 1)
    assert doc["has_addendum"] and any("肝右叶" in t for t in doc["findings"])
    answer = await wait_until(
        lambda: _found(search_api, "li.expert", "肝囊肿", limit=100),
        "the addendum's 肝囊肿 (hepatic cyst) found",
        ok=lambda a: rid in [h["referral_id"] for h in a["items"]],
        within=10,
    )
    assert answer["total"] >= 1


async def test_similar_cases_through_the_api(search_api: Api, engine: AsyncEngine, search_settings: Settings) -> None:
    a, b = await walk(search_api, engine, "returned"), await walk(search_api, engine, "returned")
    await _indexed(search_settings, a)
    await _indexed(search_settings, b)
    await wait_until(
        lambda: search_api.ok("zhao.anping", "GET", f"/api/search/similar/{a}"),
        f"{b} among the cases similar to {a}",
        ok=lambda page: b in [h["referral_id"] for h in page["items"]],
        within=10,
    )
    refused = await search_api.call("sun.qingshan", "GET", f"/api/search/similar/{a}")
    assert refused.status_code == 404
    async with engine.connect() as conn:
        n = await conn.scalar(select(func.count()).select_from(search_events).where(search_events.c.kind == "similar"))
    assert (n or 0) >= 1


async def test_search_answers_its_hits_when_the_facet_counts_fail(
    engine: AsyncEngine, temporal_client: Client, search_settings: Settings
) -> None:
    """A 200 with the hits and `facets_available: false` (the web app says so quietly), not a 503 for the search;
    audited like any search."""
    assert search_settings.opensearch_url
    local = search_settings.model_copy(update={"search_alias": fresh_alias("nofacets")})
    index = ReportIndex.from_url(search_settings.opensearch_url, local.search_alias)
    reports = [signed(f"s-nofacets-{i}", f"右肺上叶磨玻璃结节，直径约{i + 5}mm。", "磨玻璃结节。") for i in range(3)]
    try:
        await index_without_countable_facets(index.client, index.alias, reports)
        app = create_app(local, engine, temporal_client)
        searched_before = await _searches(engine, "wang.expert")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yilian.test") as client:
            answer = await Api(client).ok("wang.expert", "GET", "/api/search", params={"q": "磨玻璃结节"})
    finally:
        for name in await ix.indices_of(index.client, index.alias):
            await index.client.indices.delete(index=name)
        await index.close()
    assert (answer["facets_available"], answer["facets"], answer["total"]) == (False, {}, 3)
    assert sorted(h["referral_id"] for h in answer["items"]) == [r.referral_id for r in reports]
    assert await _searches(engine, "wang.expert") == searched_before + 1


async def test_suggestions_from_the_terms_dictionary(search_api: Api) -> None:
    page = await search_api.ok("li.expert", "GET", "/api/search/suggestions", params={"prefix": "磨玻"})
    assert "磨玻璃结节" in [s["text"] for s in page["items"]]
    page = await search_api.ok("zhao.anping", "GET", "/api/search/suggestions", params={"prefix": "ground"})
    assert {s["concept"] for s in page["items"]} >= {"ground_glass_nodule"}


async def test_indexing_survives_a_stopped_node(
    search_api: Api, engine: AsyncEngine, search_settings: Settings, opensearch_node: SearchNode
) -> None:
    if not opensearch_node.restartable:
        pytest.skip("YILIAN_TEST_OPENSEARCH_URL names a node these tests did not start")
    await search_api.token("zhao.anping")
    opensearch_node.stop()
    try:
        # signing goes on while the node is down: the steps are recorded, the indexing retries
        rids = [await walk(search_api, engine, "returned") for _ in range(2)]
        async with engine.connect() as conn:
            signed = [await search_queries.signed_report(conn, rid) for rid in rids]
        assert all(signed)
    finally:
        opensearch_node.start()
    for rid in rids:
        await _indexed(search_settings, rid)  # the activity's retries (every 30 s at most) get there


async def test_reindex_swaps_the_alias_and_doctor_agrees(
    search_api: Api, engine: AsyncEngine, search_settings: Settings
) -> None:
    rid = await walk(search_api, engine, "returned")
    await _indexed(search_settings, rid)
    assert search_settings.opensearch_url
    index = ReportIndex.from_url(search_settings.opensearch_url, search_settings.search_alias)
    try:
        before = await ix.indices_of(index.client, index.alias)
        result = await reindex(engine, index.client, index.alias)
        after = await ix.indices_of(index.client, index.alias)
        assert after == [result.index] and result.previous == before and result.index not in before
        for old in before:
            assert not await index.client.indices.exists(index=old), f"{old} should be gone"
        async with engine.connect() as conn:
            signed = await search_queries.count_signed(conn)
        assert await index.count() == signed == result.indexed
        assert await index.get(rid) is not None

        check = {c.name: c for c in await doctor.check(search_settings, seconds=10)}["Search"]
        assert check.ok, check.detail
        await index.client.delete(index=index.alias, id=rid, refresh=True)
        check = {c.name: c for c in await doctor.check(search_settings, seconds=10)}["Search"]
        assert not check.ok and "yilian search reindex" in check.detail, check.detail
    finally:
        await reindex(engine, index.client, index.alias)  # put it back for whoever runs next
        await index.close()
