"""Connecting to Temporal with the one data converter every process must share."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import TypeAdapter
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)


@functools.lru_cache(maxsize=1024)
def _adapter(type_hint: Any) -> TypeAdapter[Any]:
    return TypeAdapter(type_hint)


class SharedAdapterJSONConverter(PydanticJSONPlainPayloadConverter):
    """Pydantic's JSON payload converter with one TypeAdapter cache for the whole process.

    The worker makes a new payload converter for every workflow it loads, so the stock per-converter cache built
    the adapters of ReferralInput, each Update's input and each activity's result again (pydantic schema
    generation, milliseconds each) for every referral. The domain types are the same objects in and out of the
    workflow sandbox (passed through), so one bounded cache serves them all.
    """

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        hint: Any = type_hint if type_hint is not None else Any
        try:
            adapter = _adapter(hint)
        except TypeError:  # an unhashable hint: build it uncached (the stock converter does the same)
            adapter = TypeAdapter(hint)
        return adapter.validate_json(payload.data)


class YilianPayloadConverter(CompositePayloadConverter):
    """Temporal's default converters with JSON done by pydantic (as `pydantic_data_converter`), adapters shared."""

    def __init__(self) -> None:
        json_converter = SharedAdapterJSONConverter()
        super().__init__(
            *(
                json_converter if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


# Pydantic's converter round-trips the dataclasses in domain/referral_io.py, timedelta and datetime included
# (the default JSON converter cannot encode timedelta), and validates what it decodes.
DATA_CONVERTER = DataConverter(payload_converter_class=YilianPayloadConverter)


async def connect(address: str, namespace: str = "default") -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=DATA_CONVERTER)
