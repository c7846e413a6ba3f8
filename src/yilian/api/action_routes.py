"""Routes that each take one action: parse the body into the action's input, send its Update, answer with the view.

A capability lists such routes as `ActionRoute`s and writes its `act` once, `act(route, <id>, body, <dependencies>)`:
build the input (`route.input`), send the Update of `route.action`, and read back, as the caller sees it, what the
step wrote. `add_action_routes` makes each route an endpoint of its own, with its body model, name and description,
so the OpenAPI document (and the client generated from it) reads as if each were written by hand: its operation id
is `<tag>_<name>`, its parameters come in the order `<id>, body, <act's dependencies>`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_type_hints

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.domain.access import Principal

ActionT = TypeVar("ActionT")
Act = Callable[..., Awaitable[Any]]
Lookup = Callable[[AsyncEngine, Any], Awaitable[None]]


@dataclass(frozen=True)
class ActionRoute(Generic[ActionT]):
    path: str  # below the thing's own path: "start" is /{id}/start
    action: ActionT  # the domain action, and so the Update of the same name
    body: type[BaseModel]
    build: Callable[[Principal, Any], Any]  # the caller and the body -> the Update's input
    name: str = ""  # the endpoint's name (its operation id): the action's when empty
    doc: str | None = None  # the route's description
    summary: str | None = None
    method: str = "POST"
    lookup: Lookup | None = None  # what the input must pass in the database first (the speakers exist, ...)
    reopen: bool = False  # (referrals) may restart a finished workflow: addenda after the amendment window

    async def input(self, engine: AsyncEngine, principal: Principal, body: Any) -> Any:
        """The Update's input, once it passed the route's look-up."""
        arg = self.build(principal, body)
        if self.lookup is not None:
            await self.lookup(engine, arg)
        return arg


def add_action_routes(
    router: APIRouter, id_param: str, routes: Iterable[ActionRoute[Any]], act: Act, *, prefix: str = ""
) -> None:
    """One endpoint a route, at `<prefix>/{<id_param>}/<path>`, each calling `act` with its route, the id and the
    body. The document lists the routes in the order they are added."""
    hints = get_type_hints(act, include_extras=True)
    deps = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=hints[name])
        for name in list(inspect.signature(act).parameters)[3:]
    ]
    for route in routes:
        router.add_api_route(
            f"{prefix}/{{{id_param}}}/{route.path}",
            _endpoint(route, id_param, deps, act, hints["return"]),
            methods=[route.method],
            summary=route.summary,
        )


def _endpoint(
    route: ActionRoute[Any], id_param: str, deps: list[inspect.Parameter], act: Act, returns: Any
) -> Callable[..., Awaitable[Any]]:
    async def endpoint(**given: Any) -> Any:
        return await act(route, given.pop(id_param), given.pop("body"), **given)

    # FastAPI reads the parameters (the body's model, the dependencies) and the response model from the signature.
    kind = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(id_param, kind, annotation=str), inspect.Parameter("body", kind, annotation=route.body)]
    endpoint.__signature__ = inspect.Signature([*params, *deps], return_annotation=returns)  # type: ignore[attr-defined]
    endpoint.__name__ = route.name or str(route.action)
    endpoint.__doc__ = route.doc
    return endpoint
