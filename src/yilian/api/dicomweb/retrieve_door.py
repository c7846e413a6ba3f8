"""The retrieve door: a viewer's frame and rendered GETs, answered before FastAPI's routing.

A viewer opening a CT series sends one `.../frames/{n}` (or `.../rendered`) request per slice, hundreds per study.
Through the router each paid about 1 ms of the API's CPU before its own work began: matching the path against every
included router, resolving the dependency tree, the exception and exit-stack middlewares (docs/benchmarks.md). Here
the same steps run in one plain ASGI function, in the routes' order and through the routes' own functions: the UIDs
of the path (400, `deps.check_dicomweb_uids`), the caller (401/403, `deps.door_viewer`: the same bearer parsing,
checked-token and principal caches), then `retrieve.frames` or `retrieve.rendered` (the one visibility query, whose
answer for a person's token is kept for 2 s: imaging/retrieve.py VisibleInstances; negotiation with its 406, the
frames or the image, their headers). A refusal is rendered by `errors.refusal`, as the exception handler renders it.

It sits inside the edge (its parameter checks, body limits and security headers apply as to any route) and inside
the metrics middleware, which counts the request under the route's template: the door names the route it stands in
for. Anything not a plain GET of these three paths goes on to the router unchanged: HEAD (405 there), a request with
a body, an app mounted under a root path; `yilian_dicomweb_door_requests_total` counts both outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from yilian.api.deps import Resources, archive_of, check_dicomweb_uids, door_viewer
from yilian.api.dicomweb import retrieve as routes
from yilian.api.dicomweb.door import DoorRoute, matching, route_of
from yilian.api.errors import refusal
from yilian.domain.errors import YilianError

PREFIX = routes.router.prefix + "/studies/"  # every path the door answers starts so; anything else goes on at once


@dataclass(frozen=True)
class _Door(DoorRoute):
    """One route the door stands in for, and whether it renders."""

    rendered: bool = False


def _doors() -> tuple[_Door, ...]:
    return tuple(
        _Door(route_of(routes.router, endpoint), rendered)
        for endpoint, rendered in (
            (routes.retrieve_frames, False),
            (routes.rendered_instance, True),
            (routes.rendered_frame, True),
        )
    )


class RetrieveDoor:
    """ASGI middleware: a plain GET of `.../frames/{list}`, `.../rendered` or `.../frames/{n}/rendered` is answered
    here as its route answers it; anything else passes on."""

    def __init__(self, app: ASGIApp, resources: Resources) -> None:
        self.app = app
        self.resources = resources
        self.archive = archive_of(resources)
        self.doors = _doors()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        door, ids = matching(self.doors, scope, PREFIX)
        if door is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "GET" or scope.get("root_path") or _has_body(scope):
            door.pass_on()
            await self.app(scope, receive, send)
            return
        door.answer(scope)
        try:
            response = await self._answer(door, HTTPConnection(scope), ids)
        except YilianError as exc:
            response = refusal(exc)
        await response(scope, receive, send)

    async def _answer(self, door: _Door, request: HTTPConnection, ids: dict[str, str]) -> Response:
        check_dicomweb_uids(ids)  # the router's dependency of /dicomweb, first
        principal, person = await door_viewer(self.resources, request)
        accept = request.headers.get("accept", "")
        study, series, sop = ids["study"], ids["series"], ids["sop"]
        if door.rendered:
            frame_list = ids.get("frame_list")  # None: the instance's rendering (its first frame)
            return await routes.rendered(
                self.archive, principal, study, series, sop, frame_list, accept, request.query_params, person
            )
        return await routes.frames(self.archive, principal, study, series, sop, ids["frame_list"], accept, person)


def _has_body(scope: Scope) -> bool:
    """Whether the request says it sends a body (a GET's is never read by the routes, but that is the router's
    business: such an odd request goes the long way)."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False
