"""A hospital's API keys, the credential its gateway stores images with: issue (shown once), list, revoke."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from yilian.api.deps import CurrentPrincipal, Engine
from yilian.api.models.api_key import ApiKey, IssuedApiKey
from yilian.api.schemas import Page, RequestBody
from yilian.db.engine import reading
from yilian.db.queries import api_key as queries
from yilian.domain import api_key
from yilian.domain.access import Principal, can_manage_hospital
from yilian.domain.errors import ErrorCode, YilianError

router = APIRouter(prefix="/api/hospitals/{hospital_id}/api-keys", tags=["api keys"])


async def hospital_manager(hospital_id: str, principal: CurrentPrincipal, engine: Engine) -> Principal:
    if not can_manage_hospital(principal, hospital_id):
        raise YilianError(ErrorCode.FORBIDDEN, "only an admin or the hospital's coordinator manages its API keys")
    async with reading(engine) as conn:
        if not await queries.hospital_exists(conn, hospital_id):
            raise YilianError(ErrorCode.NOT_FOUND, f"no hospital {hospital_id}")
    return principal


Manager = Annotated[Principal, Depends(hospital_manager)]


class NewApiKey(RequestBody):
    label: str = Field(min_length=1, max_length=120, description="where the key is used, e.g. 'CT room gateway'")
    scope: api_key.KeyScope = Field(
        default=api_key.KeyScope.STORE,
        description="store: images in, reports for the PACS out; store_retrieve: also C-FIND/C-MOVE of the "
        "hospital's own studies through the gateway",
    )


@router.post("", status_code=201)
async def create_api_key(hospital_id: str, body: NewApiKey, principal: Manager, engine: Engine) -> IssuedApiKey:
    issued = api_key.issue()
    async with engine.begin() as conn:
        await queries.insert_key(
            conn,
            key_id=issued.key_id,
            hospital_id=hospital_id,
            label=body.label,
            secret_sha256=issued.secret_sha256,
            scope=body.scope,
            created_by=principal.user_id,
            now=datetime.now(UTC),
        )
    return IssuedApiKey(
        id=issued.key_id,
        label=body.label,
        hospital_id=hospital_id,
        scope=body.scope,
        api_key=issued.token,
        note="store this key now: it is shown only once",
    )


@router.get("")
async def list_api_keys(hospital_id: str, principal: Manager, engine: Engine) -> Page[ApiKey]:
    async with reading(engine) as conn:
        rows = await queries.keys_of(conn, hospital_id)
    return Page[ApiKey].of([ApiKey.model_validate(r) for r in rows])


@router.delete("/{key_id}", status_code=204)
async def revoke_api_key(hospital_id: str, key_id: str, principal: Manager, engine: Engine) -> Response:
    async with engine.begin() as conn:
        if not await queries.revoke(conn, hospital_id, key_id, datetime.now(UTC)):
            raise YilianError(ErrorCode.NOT_FOUND, f"no active API key {key_id} for {hospital_id}")
    return Response(status_code=204)
