"""Per-app routes: OIP v2 model metadata, readiness, infer and feedback, and the JSON predict route.

Each served app gets concrete paths (``/v2/models/quickstart-digits/infer``), so the OpenAPI document
carries every app's own request schema. Annotations here are real objects, not strings: FastAPI reads
them at runtime and the request models are built per app.
"""

import asyncio
import time
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from seek.errors import DataError
from seek.monitoring.events_log import record_inputs
from seek.serving import oip
from seek.serving.errors import ApiError
from seek.serving.events import score_of
from seek.serving.hosting import ModelHost, ModelNotReady
from seek.serving.schemas import (
    ErrorBody,
    FeedbackRequest,
    FeedbackResponse,
    ModelMetadata,
    OipRequest,
    OipResponse,
    PredictResponse,
    predict_request,
)
from seek.serving.state import ServerState

bearer = HTTPBearer(auto_error=False, description="an API key made with `seek keys create`")
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "malformed tensors",
        401: "no or invalid API key",
        403: "key out of scope",
        404: "not served",
        408: "body not received in time",
        413: "body too large",
        415: "unsupported content type",
        422: "invalid records (field errors)",
        429: "rate limited (see Retry-After)",
        500: "internal error",
        503: "no promoted model loaded",
        504: "timed out",
    }.items()
}


class ModelReady(BaseModel):
    """``GET /v2/models/{app}/ready``."""

    name: str
    ready: bool
    version: str | None = None


def token_of(credentials: HTTPAuthorizationCredentials | None, request: Request) -> str | None:
    """The API key from ``Authorization: Bearer`` or ``X-API-Key``."""
    if credentials is not None:
        return credentials.credentials
    return request.headers.get("x-api-key")


async def predict(state: ServerState, host: ModelHost, records: list[Mapping[str, Any]], request: Request) -> Any:
    """Run records through the app's batcher with the request timeout; records events for monitoring."""
    started = time.perf_counter()
    try:
        version, answers = await asyncio.wait_for(host.predict(records), state.settings.timeout_s)
    except TimeoutError:
        raise ApiError(504, f"prediction took longer than {state.settings.timeout_s:g} s") from None
    except ModelNotReady as exc:
        raise ApiError(503, str(exc)) from None
    except DataError as exc:
        if state.metrics is not None:
            state.metrics.invalid(host.app.name, "predictor")
        raise ApiError(422, str(exc)) from None
    request_id = request.state.request_id
    ids = [f"{request_id}-{i}" for i in range(len(answers))]
    if state.events is not None and state.settings.input_every > 0:
        record_inputs(state.events, host.app.name, ids, records, every=state.settings.input_every)
    elapsed = time.perf_counter() - started
    if state.events is not None or state.metrics is not None:
        scores = [score_of(a) for a in answers]
        if state.metrics is not None:
            state.metrics.scores(host.app.name, scores)
        if state.events is not None:
            for pid, answer, score in zip(ids, answers, scores, strict=True):
                state.events.add(
                    "prediction",
                    host.app.name,
                    {
                        "id": pid,
                        "version": version.version,
                        "score": score,
                        "label": answer.get("label"),
                        "latency_s": round(elapsed, 6),
                    },
                )
    return str(version.version), ids, answers


def app_router(state: ServerState, host: ModelHost) -> APIRouter:
    """The routes of one served app."""
    name = host.app.name
    router = APIRouter(tags=[name])
    Request_ = predict_request(host.app)

    def guard(scope: str) -> Any:
        async def check(
            request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
        ) -> None:
            state.authorize(token_of(credentials, request), scope, name)

        return check

    @router.get(f"/v2/models/{name}", response_model=ModelMetadata, responses=ERRORS, summary=f"{name}: metadata")
    async def metadata() -> Any:
        versions = [str(v.version) for v in state.registry.versions(name)]
        outputs: list[dict[str, Any]] = []
        return {
            "name": name,
            "versions": versions,
            "platform": "seek",
            "inputs": oip.input_metadata(host.app),
            "outputs": outputs,
        }

    @router.get(
        f"/v2/models/{name}/ready",
        response_model=ModelReady,
        responses={503: {"model": ModelReady, "description": "no model loaded"}},
        summary=f"{name}: readiness",
    )
    async def ready() -> Any:
        loaded = host.loaded
        body = {"name": name, "ready": loaded is not None, "version": str(loaded.version.version) if loaded else None}
        return JSONResponse(body, status_code=200 if loaded else 503)

    @router.post(
        f"/v2/models/{name}/infer",
        response_model=OipResponse,
        responses=ERRORS,
        dependencies=[Depends(guard("predict"))],
        summary=f"{name}: OIP v2 inference",
    )
    async def infer(body: OipRequest, request: Request) -> Any:
        records = oip.to_records(body)
        validated: list[Mapping[str, Any]] = list(_validate(state, host, records))
        version, _ids, answers = await predict(state, host, validated, request)
        return {
            "model_name": name,
            "model_version": version,
            "id": body.id or request.state.request_id,
            "outputs": oip.to_outputs(answers),
        }

    @router.post(
        f"/v1/apps/{name}/predict",
        response_model=PredictResponse,
        responses=ERRORS,
        dependencies=[Depends(guard("predict"))],
        summary=f"{name}: predict JSON records",
    )
    async def predict_json(body: Request_, request: Request) -> Any:  # type: ignore[valid-type]
        records: list[Mapping[str, Any]] = [r.model_dump(mode="json", exclude_unset=True) for r in body.records]  # type: ignore[attr-defined]
        version, ids, answers = await predict(state, host, records, request)
        return {"model_name": name, "model_version": version, "ids": ids, "predictions": answers}

    @router.post(
        f"/v2/models/{name}/feedback",
        response_model=FeedbackResponse,
        responses=ERRORS,
        dependencies=[Depends(guard("predict"))],
        summary=f"{name}: ground-truth labels for earlier predictions",
    )
    async def feedback(body: FeedbackRequest) -> Any:
        if state.events is not None:
            for item in body.items:
                event = {"id": item.id, "label": item.label}
                if item.timestamp is not None:
                    event["ts"] = item.timestamp.timestamp()
                state.events.add("feedback", name, event)
        return {"accepted": len(body.items)}

    return router


def _validate(state: ServerState, host: ModelHost, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from pydantic import ValidationError

    from seek.serving.errors import field_errors
    from seek.serving.schemas import record_model

    model = record_model(host.app)
    out = []
    for i, record in enumerate(records):
        try:
            out.append(model.model_validate(record, strict=False).model_dump(mode="json", exclude_unset=True))
        except ValidationError as exc:
            if state.metrics is not None:
                state.metrics.invalid(host.app.name, "schema")
            fields = [{**f, "field": f"inputs[{i}].{f['field']}"} for f in field_errors(list(exc.errors()))]
            raise ApiError422(fields) from None
    return out


class ApiError422(ApiError):
    """A 422 carrying field errors."""

    def __init__(self, fields: list[dict[str, Any]]) -> None:
        super().__init__(422, f"invalid record: {fields[0]['field']}: {fields[0]['message']}")
        self.fields = fields
