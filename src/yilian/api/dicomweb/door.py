"""What the DICOMweb doors share: the route a door stands in for, matched and counted as the router would see it.

A door (api/dicomweb/retrieve_door.py, api/dicomweb/stow_door.py) answers some requests before FastAPI's routing. It
matches a path with Starlette's own pattern for the route's template, so it takes exactly what the route takes, and
names the route in the scope, as the router does: the metrics middleware labels the request with its template.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from fastapi import APIRouter
from fastapi.routing import APIRoute
from prometheus_client import Counter
from starlette.routing import compile_path
from starlette.types import Scope

from yilian.metrics.catalog import dicomweb_door_requests

ANSWERED, PASSED = "answered", "passed on"


@dataclass(frozen=True)
class DoorRoute:
    """One route a door stands in for: the route object and its path pattern, with each outcome's counter looked
    up once, not on every request."""

    route: APIRoute
    pattern: re.Pattern[str] = field(init=False, compare=False)
    counters: dict[str, Counter] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", compile_path(self.route.path)[0])
        counters = {outcome: dicomweb_door_requests.labels(self.route.path, outcome) for outcome in (ANSWERED, PASSED)}
        object.__setattr__(self, "counters", counters)

    def match(self, path: str) -> dict[str, str] | None:
        """The path's parameters if the route takes this path, else None."""
        found = self.pattern.match(path)
        return None if found is None else found.groupdict()

    def pass_on(self) -> None:
        self.counters[PASSED].inc()

    def answer(self, scope: Scope) -> None:
        """Take the request: named as the router names it (the metrics label is the route's template), counted."""
        scope["route"] = self.route
        self.counters[ANSWERED].inc()


Door = TypeVar("Door", bound=DoorRoute)


def matching(doors: Sequence[Door], scope: Scope, prefix: str) -> tuple[Door | None, dict[str, str]]:
    """For an HTTP request: the first of the doors whose route takes its path, and the path's parameters; (None, {})
    if none does. Every path a door answers starts with `prefix`: anything else is let go at once."""
    if scope["type"] != "http" or not scope["path"].startswith(prefix):
        return None, {}
    for door in doors:
        found = door.match(scope["path"])
        if found is not None:
            return door, found
    return None, {}


def route_of(router: APIRouter, endpoint: object) -> APIRoute:
    """The router's route whose endpoint this is."""
    return next(r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is endpoint)
