"""The FastAPI application: routers, error rendering, and the resources every request shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from yilian.api import (
    admin,
    api_keys,
    audit,
    auth,
    dashboard,
    dicomweb,
    dicomweb_retrieve,
    directory,
    events,
    me,
    notifications,
    referrals,
    share,
    studies,
    viewer,
    web,
)
from yilian.api.errors import install_error_handlers
from yilian.api.event_hub import EventHub, listen_dsn
from yilian.api.workflow_client import studies_received
from yilian.config import Settings
from yilian.imaging.blob import blob_store_from_url


def create_app(settings: Settings, engine: AsyncEngine, temporal: Client) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await app.state.events.start()
        try:
            yield
        finally:
            await app.state.events.stop()

    app = FastAPI(
        title="Yilian 医联",
        version="0.1.0",
        description="Remote imaging consultation for a regional medical alliance. "
        "Sign in at /api/auth/login and send the token as `Authorization: Bearer <token>`.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.temporal = temporal
    app.state.blobs = blob_store_from_url(settings.storage_url)
    app.state.on_stored = studies_received(engine, temporal)
    database_url = settings.database_url or engine.url.render_as_string(hide_password=False)
    app.state.events = EventHub(listen_dsn(database_url), engine)
    install_error_handlers(app)
    routers = (auth, me, referrals, dashboard, share, notifications, audit, api_keys, studies, events, admin, directory)
    for module in (*routers, dicomweb, dicomweb_retrieve, viewer):
        app.include_router(module.router)

    @app.get("/api/health", tags=["health"])
    async def health() -> dict[str, Any]:
        return {"status": "ok"}

    app.include_router(web.router)  # last: its catch-all must not shadow any other route
    return app
