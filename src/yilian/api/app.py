"""The FastAPI application: routers, error rendering, and the resources every request shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from yilian.api import audit, auth, dashboard, me, notifications, referrals, share
from yilian.api.errors import install_error_handlers
from yilian.config import Settings


def create_app(settings: Settings, engine: AsyncEngine, temporal: Client) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield

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
    install_error_handlers(app)
    for module in (auth, me, referrals, dashboard, share, notifications, audit):
        app.include_router(module.router)

    @app.get("/api/health", tags=["health"])
    async def health() -> dict[str, Any]:
        return {"status": "ok"}

    return app
