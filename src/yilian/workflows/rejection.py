"""How every workflow refuses an Update: the domain's error as a non-retryable ApplicationError that
api/workflow_client.py turns back into the same catalogue error."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from yilian.domain.errors import YilianError


def rejection(err: YilianError) -> ApplicationError:
    return ApplicationError(
        err.message, {"code": str(err.code), "details": err.details}, type=str(err.code), non_retryable=True
    )
