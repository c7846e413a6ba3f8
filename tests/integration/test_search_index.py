"""The report index on a real OpenSearch node: analyzers, negation-aware fields, synonyms, phrases, facets,
highlights, sorting, similar cases and versioned writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.search import fresh_alias, index_without_countable_facets, signed
from yilian.domain.access import Principal
from yilian.domain.roles import Role
from yilian.search import index as ix
from yilian.search.query import Facet, ReportQuery, Sort
from yilian.search.reports import ReportIndex

pytestmark = pytest.mark.integration

ADMIN = Principal("admin", Role.ADMIN, None, "管理员")
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)

CORPUS = [
    signed(
        "s-ggo-zh",
        "右肺上叶磨玻璃结节，大小约8mm，边界清楚。未见胸腔积液。",
        "右肺上叶磨玻璃结节，建议随访。",
        signed_at=T0,
        discrepancy="agree",
    ),  # fmt: skip
    signed(
        "s-ggo-gap",
        "右肺上叶见磨玻璃影，直径约6mm。纵隔未见肿大淋巴结。",
        "右肺上叶磨玻璃影，建议年度复查。",
        signed_at=T0 + timedelta(days=1),
    ),  # fmt: skip
    signed(
        "s-ggo-en",
        "Ground-glass nodules in the right upper lobe, the largest 7 mm. No pleural effusion.",
        "GGO in the RUL; follow-up CT in 12 months.",
        signed_at=T0 + timedelta(days=2),
        hospital=("h-qingshan", "青山县医院"),
    ),  # fmt: skip
    signed(
        "s-no-nodule",
        "双肺纹理清晰，未见结节。无胸腔积液。肝脏形态正常。",
        "胸部CT未见异常。",
        signed_at=T0 + timedelta(days=3),
    ),  # fmt: skip
    signed(
        "s-liver",
        "肝右叶见类圆形低密度灶，边界清，增强后呈渐进性强化。",
        "肝血管瘤。",
        modality="MR",
        body_part="abdomen",
        signed_at=T0 + timedelta(days=40),
        reader=("li.expert", "李医生"),
        critical=False,
    ),  # fmt: skip
    signed(
        "s-effusion",
        "Large right pleural effusion with compressive atelectasis.",
        "Right pleural effusion.",
        modality="DX",
        signed_at=T0 + timedelta(days=41),
        critical=True,
        discrepancy="minor",
    ),  # fmt: skip
    signed(
        "s-addendum",
        "左肺下叶小结节。",
        "左肺下叶小结节，性质待定。",
        signed_at=T0 + timedelta(days=42),
        addenda=(("", "补充：结合既往片，左肺下叶结节较前无明显变化，考虑良性。"),),
    ),  # fmt: skip
]


@pytest.fixture(scope="module")
async def reports(opensearch_url: str) -> AsyncIterator[ReportIndex]:
    index = ReportIndex.from_url(opensearch_url, fresh_alias("index"))
    yield index
    for name in await ix.indices_of(index.client, index.alias):
        await index.client.indices.delete(index=name)
    await index.close()


async def _ids(index: ReportIndex, text: str, p: Principal = ADMIN, **kw: object) -> list[str]:
    answer = await index.search(p, ReportQuery(text, **kw))  # type: ignore[arg-type]
    return [h.referral_id for h in answer.hits]


@pytest.fixture(scope="module")
async def idx(reports: ReportIndex) -> ReportIndex:
    await reports.ensure()
    result = await ix.bulk_index(reports.client, reports.alias, [ix.report_document(r) for r in CORPUS], refresh=True)
    assert result.indexed == len(CORPUS) and result.stale == 0
    return reports


async def test_single_characters_match(idx: ReportIndex) -> None:
    assert set(await _ids(idx, "肝")) == {"s-no-nodule", "s-liver"}
    assert {"s-ggo-zh", "s-ggo-gap", "s-no-nodule", "s-addendum"} <= set(await _ids(idx, "肺"))


async def test_negated_mentions_are_not_found_by_default(idx: ReportIndex) -> None:
    present = set(await _ids(idx, "结节"))
    assert "s-no-nodule" not in present, "未见结节 is no nodule"
    assert {"s-ggo-zh", "s-addendum"} <= present
    assert "s-no-nodule" in set(await _ids(idx, "结节", include_negated=True))
    assert set(await _ids(idx, "胸腔积液")) == {"s-effusion"}, "无胸腔积液 / no pleural effusion are negated"
    assert {"s-ggo-zh", "s-no-nodule", "s-ggo-en", "s-effusion"} <= set(
        await _ids(idx, "胸腔积液", include_negated=True)
    )


async def test_uncertain_mentions_need_the_switch(idx: ReportIndex) -> None:
    # 考虑良性 in the addendum is uncertain: found only when negated and uncertain mentions are asked for
    assert "s-addendum" not in await _ids(idx, "良性")
    assert "s-addendum" in await _ids(idx, "良性", include_negated=True)


async def test_synonyms_cross_languages_and_english_is_stemmed(idx: ReportIndex) -> None:
    ggo = {"s-ggo-zh", "s-ggo-gap", "s-ggo-en"}
    assert set(await _ids(idx, "磨玻璃结节")) == ggo
    assert set(await _ids(idx, "ground-glass nodule")) == ggo
    assert set(await _ids(idx, "GGO")) == ggo
    assert set(await _ids(idx, "磨玻璃结节 右肺上叶")) == ggo
    assert "s-effusion" in await _ids(idx, "pleural effusions")  # plural query, singular text


async def test_phrase_search(idx: ReportIndex) -> None:
    assert await _ids(idx, '"上叶见磨玻璃"') == ["s-ggo-gap"]
    assert await _ids(idx, '"上叶磨玻璃结节"') == ["s-ggo-zh"]  # the other has 磨玻璃影, or 见 between
    assert await _ids(idx, '"compressive atelectasis"') == ["s-effusion"]
    assert await _ids(idx, '"atelectasis compressive"') == []


async def test_sort_by_date_and_relevance(idx: ReportIndex) -> None:
    by_date = await _ids(idx, "肺", sort=Sort.DATE)
    dates = {r.referral_id: r.signed_at for r in CORPUS}
    assert by_date == sorted(by_date, key=lambda i: dates[i], reverse=True)
    answer = await idx.search(ADMIN, ReportQuery("磨玻璃结节"))
    scores = [h.score or 0.0 for h in answer.hits]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


async def test_facets_count_under_the_other_choices(idx: ReportIndex) -> None:
    answer = await idx.search(ADMIN, ReportQuery("", chosen={Facet.MODALITY: ["CT"]}))
    assert answer.total == 5 and all(h.source["modality"] == "CT" for h in answer.hits)
    assert answer.facets_available
    modality = {v.value: v.count for v in answer.facets[Facet.MODALITY]}
    assert modality == {"CT": 5, "MR": 1, "DX": 1}, "a chosen facet still counts its other values"
    hospital = {v.value: (v.count, v.label) for v in answer.facets[Facet.HOSPITAL]}
    assert hospital == {"h-anping": (4, "安平县医院"), "h-qingshan": (1, "青山县医院")}, "others count within CT"
    months = {v.value: v.count for v in answer.facets[Facet.MONTH]}
    assert months == {"2026-10": 4, "2026-11": 1}
    both = await idx.search(ADMIN, ReportQuery("", chosen={Facet.MODALITY: ["CT", "DX"], Facet.MONTH: ["2026-11"]}))
    assert {h.referral_id for h in both.hits} == {"s-effusion", "s-addendum"}
    critical = await idx.search(ADMIN, ReportQuery("", chosen={Facet.CRITICAL: ["true"]}))
    assert [h.referral_id for h in critical.hits] == ["s-effusion"]
    assert {v.value: v.count for v in critical.facets[Facet.DISCREPANCY]} == {"minor": 1}, "counted within critical"


async def test_hits_answer_when_the_facet_counts_fail(idx: ReportIndex, opensearch_url: str) -> None:
    """The facet request fails on the node (a facet field it cannot count); the hits, total and highlights of the
    same query come back whole from their own request, the facets marked unavailable."""
    whole = await idx.search(ADMIN, ReportQuery("磨玻璃结节", chosen={Facet.MODALITY: ["CT"]}))
    broken = ReportIndex.from_url(opensearch_url, fresh_alias("nofacets"))
    try:
        await index_without_countable_facets(broken.client, broken.alias, CORPUS)
        answer = await broken.search(ADMIN, ReportQuery("磨玻璃结节", chosen={Facet.MODALITY: ["CT"]}))
        assert (answer.facets_available, answer.facets) == (False, {})
        assert whole.facets_available and whole.facets[Facet.MODALITY]
        assert answer.total == whole.total == 3
        assert [h.referral_id for h in answer.hits] == [h.referral_id for h in whole.hits]
        assert [h.highlights for h in answer.hits] == [h.highlights for h in whole.hits]
    finally:
        for name in await ix.indices_of(broken.client, broken.alias):
            await broken.client.indices.delete(index=name)
        await broken.close()


async def test_highlights_in_both_languages(idx: ReportIndex) -> None:
    answer = await idx.search(ADMIN, ReportQuery("磨玻璃结节"))
    by_id = {h.referral_id: h for h in answer.hits}
    zh = [p.text for frag in by_id["s-ggo-zh"].highlights["findings_present"] for p in frag if p.hit]
    assert "磨玻璃结节" in zh
    en = [p.text.lower() for frag in by_id["s-ggo-en"].highlights["findings_present"] for p in frag if p.hit]
    assert any("ground" in t for t in en) and any("nodule" in t for t in en), en
    assert "GGO" in [p.text for frag in by_id["s-ggo-en"].highlights["impression_present"] for p in frag if p.hit]


async def test_addenda_are_searchable_and_older_versions_never_win(idx: ReportIndex) -> None:
    assert "s-addendum" in await _ids(idx, "既往片")
    older = signed("s-addendum", "旧文本 old text", version=2)
    assert await idx.index(older, refresh=True) is False, "version 2 after version 4: refused as stale"
    assert await _ids(idx, "旧文本") == []
    assert (await idx.get("s-addendum") or {})["report_version"] == 4


async def test_similar_cases_on_present_findings(idx: ReportIndex) -> None:
    similar = [h.referral_id for h in await idx.similar(ADMIN, "s-ggo-zh")]
    assert similar and similar[0] == "s-ggo-gap", similar
    assert "s-ggo-zh" not in similar
    assert "s-liver" not in similar


async def test_access_filter_in_the_query(idx: ReportIndex) -> None:
    qingshan = Principal("sun.qingshan", Role.COUNTY_DOCTOR, "h-qingshan", "孙医生")
    found = await idx.search(qingshan, ReportQuery(""))
    assert [h.referral_id for h in found.hits] == ["s-ggo-en"]
    assert {v.value for v in found.facets[Facet.HOSPITAL]} == {"h-qingshan"}, "facets count only what one may see"
    patient = Principal("p1", Role.PATIENT, None, "患者")
    assert (await idx.search(patient, ReportQuery(""))).total == 0


async def test_a_shard_that_never_starts_is_named_not_read(opensearch_url: str) -> None:
    """A single node never starts a replica, so an index asking for one stays yellow: waiting for it gives up
    after the time given and names the index, rather than returning to a reader who would get 503 RECOVERING."""
    probe = ReportIndex.from_url(opensearch_url, fresh_alias("unstarted"))
    name = f"{probe.alias}-never-green"
    body = ix.index_body()
    body["settings"]["index"]["number_of_replicas"] = 1
    try:
        await probe.client.indices.create(index=name, body=body)
        with pytest.raises(TimeoutError, match=name):
            await ix.wait_started(probe.client, name, within_s=2)
        await ix.wait_started(probe.client, await ix.ensure_alias(probe.client, probe.alias), within_s=60)
    finally:
        await probe.client.indices.delete(index=f"{probe.alias}*")
        await probe.close()
