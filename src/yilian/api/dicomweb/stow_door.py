"""The STOW-RS door: `POST /dicomweb/studies` and `POST /dicomweb/studies/{study}`, answered before FastAPI's routing.

Every ingest goes through these two routes: a modality's or a viewer's STOW-RS, and the gateway's batches of C-STORE
instances. A py-spy profile of a CT STOW request put the middleware chain and routing at about 45 % of the API's GIL
time besides the route's own work (docs/benchmarks.md, stowcpu2): matching the path against every included router,
resolving the dependency tree, the exception and exit-stack middlewares. Here the same steps run in one plain ASGI
function, in the routes' order and through the routes' own functions: the study UID of the path (400,
`deps.check_dicomweb_uids`), the caller (401/403, `deps.door_storer`: the same bearer parsing, caches and role
check), then `store_query.store`, the one function both routes call. A refusal is rendered by `errors.refusal`, as
the exception handler renders it; any other exception goes up to the same handler as from the route.

It sits inside the edge (its parameter checks and security headers apply as to the route) and inside the metrics
middleware, which counts the request under the route's template: the door names the route it stands in for. Anything
not a POST of these two paths goes on to the router unchanged; a POST of them under a root path too.
`yilian_dicomweb_door_requests_total` counts both outcomes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from yilian.api.deps import Resources, check_dicomweb_uids, door_storer
from yilian.api.dicomweb import store_query as routes
from yilian.api.dicomweb.door import DoorRoute, matching, route_of
from yilian.api.errors import refusal
from yilian.domain.errors import YilianError

PREFIX = routes.router.prefix + "/studies"  # every path the door answers starts so; anything else goes on at once


class StowDoor:
    """ASGI middleware: a POST of `/dicomweb/studies` or `/dicomweb/studies/{study}` is answered here as its route
    answers it; anything else passes on."""

    def __init__(self, app: ASGIApp, resources: Resources) -> None:
        self.app = app
        self.resources = resources
        self.doors = tuple(
            DoorRoute(route_of(routes.router, endpoint))
            for endpoint in (routes.store_instances, routes.store_study_instances)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        door, ids = matching(self.doors, scope, PREFIX)
        if door is None or scope["method"] != "POST":  # any other method: the router's, uncounted (as QIDO's GET)
            await self.app(scope, receive, send)
            return
        if scope.get("root_path"):
            door.pass_on()
            await self.app(scope, receive, send)
            return
        door.answer(scope)
        try:
            response = await self._answer(Request(scope, receive), ids.get("study"))
        except YilianError as exc:
            response = refusal(exc)
        await response(scope, receive, send)

    async def _answer(self, request: Request, study: str | None) -> Response:
        res = self.resources
        check_dicomweb_uids({"study": study} if study is not None else {})  # the router's dependency of /dicomweb
        principal = await door_storer(res, request)
        return await routes.store(request, res.engine, res.blobs, res.on_stored, principal, study)
