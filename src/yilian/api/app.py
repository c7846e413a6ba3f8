"""The FastAPI application: routers, error rendering, and the resources every request shares."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from yilian.api.deps import LectureMedia, Resources, lecture_files
from yilian.api.dicomweb import retrieve as dicomweb_retrieve
from yilian.api.dicomweb import store_query as dicomweb_store_query
from yilian.api.dicomweb.retrieve_door import RetrieveDoor
from yilian.api.dicomweb.stow_door import StowDoor
from yilian.api.edge import EdgeMiddleware
from yilian.api.errors import install_error_handlers
from yilian.api.event_hub import EventHub, listen_dsn
from yilian.api.hls_door import HlsDoor
from yilian.api.lecture_media import LectureViews, SegmentTimes
from yilian.api.request_metrics import RequestMetricsMiddleware
from yilian.api.routes import (
    admin,
    api_keys,
    audit,
    auth,
    cloud_film,
    consults,
    dashboard,
    directory,
    events,
    film_savings,
    gateway_quarantine,
    in_house,
    lectures,
    me,
    notifications,
    pacs_deliveries,
    patient_index,
    patient_sessions,
    quality,
    referrals,
    report_deliveries,
    retention,
    search,
    share_links,
    studies,
    teaching,
)
from yilian.api.schemas import ApiModel, ErrorBody
from yilian.api.static import viewer, web_app
from yilian.api.workflow_client import LectureCommands, studies_received
from yilian.config import Settings
from yilian.imaging.blob import blob_store
from yilian.search.reports import ReportIndex

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
# The JSON API, whose refusals are all ErrorBody; DICOMweb answers in its own standard's terms.
API_ROUTERS = (
    retention,
    auth,
    me,
    referrals,
    consults,
    dashboard,
    share_links,
    notifications,
    audit,
    api_keys,
    studies,
    events,
    admin,
    directory,
    search,
    teaching,
    patient_index,
    patient_sessions,
    lectures,
    cloud_film,
    quality,
    film_savings,
    pacs_deliveries,
    report_deliveries,
    gateway_quarantine,
    in_house,
)
OTHER_ROUTERS = (dicomweb_store_query, dicomweb_retrieve, viewer)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "refused: the error catalogue's code, a message and details"},
    "5XX": {"model": ErrorBody, "description": "failed on our side; details carry a correlation id"},
}


class Health(ApiModel):
    status: str


def operation_id(route: APIRoute) -> str:
    """`<tag>_<route name>`, e.g. `referrals_accept`: stable names for the generated client (web/src/api/generated)."""
    name = f"{route.tags[0]}_{route.name}" if route.tags else route.name
    return re.sub(r"\W+", "_", name).lower()


def build_app(
    lifespan: Lifespan | None = None, lecture_files: LectureMedia | None = None, archive: Resources | None = None
) -> FastAPI:
    """The routes, their error rendering and the OpenAPI document; no resources (`create_app` adds them, the
    lecture files the HLS door serves before routing and the archive the retrieve and STOW-RS doors serve)."""
    app = FastAPI(
        title="Yilian 医联",
        version="0.1.0",
        description="Remote imaging consultation for a regional medical alliance. "
        "Sign in at /api/auth/login and send the token as `Authorization: Bearer <token>`.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    install_error_handlers(app)
    if archive is not None:  # frames and rendered inside the edge, before the router (api/dicomweb/retrieve_door.py)
        app.add_middleware(RetrieveDoor, resources=archive)
        app.add_middleware(StowDoor, resources=archive)  # STOW-RS POSTs likewise (api/dicomweb/stow_door.py)
    app.add_middleware(EdgeMiddleware)  # body limits, parameters, browser headers: before any route
    if lecture_files is not None:  # lecture segments before the edge and the router (api/hls_door.py)
        app.add_middleware(HlsDoor, files=lecture_files)
    app.add_middleware(RequestMetricsMiddleware)  # outermost: its latency includes the edge and error handling
    for module in API_ROUTERS:
        app.include_router(module.router, responses=ERROR_RESPONSES)
    app.include_router(retention.studies_router, responses=ERROR_RESPONSES)  # DELETE /api/studies/{uid}
    for module in OTHER_ROUTERS:
        app.include_router(module.router)

    @app.get("/api/health", tags=["health"], responses=ERROR_RESPONSES)
    async def health() -> Health:
        return Health(status="ok")

    app.include_router(web_app.router)  # last: its catch-all must not shadow any other route
    return app


def create_app(settings: Settings, engine: AsyncEngine, temporal: Client) -> FastAPI:
    database_url = settings.database_url or engine.url.render_as_string(hide_password=False)
    search = ReportIndex.from_url(settings.opensearch_url, settings.search_alias) if settings.opensearch_url else None
    resources = Resources(
        settings=settings,
        engine=engine,
        temporal=temporal,
        blobs=blob_store(settings),
        on_stored=studies_received(engine, temporal, settings),
        events=EventHub(listen_dsn(database_url), engine),
        search=search,
        lecture_views=LectureViews(engine, LectureCommands(temporal, settings.task_queue).watched),
        segment_times=SegmentTimes(),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await resources.events.start()
        try:
            yield
        finally:
            await resources.events.stop()
            if resources.lecture_views is not None:
                await resources.lecture_views.close()
            if resources.search is not None:
                await resources.search.close()

    app = build_app(lifespan, lecture_files(resources), resources if settings.dicomweb_door else None)
    app.state.resources = resources  # read only through api/deps.py
    if settings.cors_origins:
        add_cross_origin(app, settings.cors_origins)
    return app


def add_cross_origin(app: FastAPI, origins: list[str]) -> None:
    """Let pages of the listed origins call the API and DICOMweb (a viewer served elsewhere): preflight OPTIONS
    answered, bearer tokens allowed, no cookies (the API takes none), the headers a DICOMweb client reads exposed."""
    app.add_middleware(
        CORSMiddleware,  # outermost: a preflight is answered before any limit or route
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Accept", "Content-Type", "Cache-Control"],
        expose_headers=["Warning", "Content-Location", "Content-Type", "Content-Length", "Retry-After"],
        max_age=600,
    )
