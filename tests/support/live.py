"""Serving an app over real HTTP in tests (uvicorn on a free port, on the tests' own event loop)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """The app at http://127.0.0.1:<port>; the database engine stays bound to this loop."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    await started(server, serving, f"the app on port {port}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
        sock.close()


async def started(server: uvicorn.Server, serving: asyncio.Task[None], what: str, within: float = 30.0) -> None:
    """Wait for uvicorn to say it started (it offers no event); its own error if it stopped, by name at the deadline."""
    deadline = asyncio.get_running_loop().time() + within
    while not server.started:
        if serving.done():
            serving.result()
            raise AssertionError(f"{what} stopped before it started")
        if asyncio.get_running_loop().time() > deadline:
            serving.cancel()
            raise AssertionError(f"{what} did not start within {within} s")
        await asyncio.sleep(0.02)
