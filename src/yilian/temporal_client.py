"""Connecting to Temporal with the one data converter every process must share."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

# Pydantic's converter round-trips the dataclasses in domain/messages.py, timedelta and datetime included
# (the default JSON converter cannot encode timedelta), and validates what it decodes.
DATA_CONVERTER = pydantic_data_converter


async def connect(address: str, namespace: str = "default") -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=DATA_CONVERTER)
