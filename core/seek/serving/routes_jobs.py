"""Async job routes: ``POST /v1/jobs`` (JSON records or an uploaded file), status, result, delete."""

import shutil
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ValidationError

from seek.errors import DataError
from seek.serving.errors import ApiError, field_errors
from seek.serving.jobstore import new_job
from seek.serving.limits import upload_kind
from seek.serving.routes_models import ERRORS, bearer, token_of
from seek.serving.schemas import JobRequest, JobResult, JobStatus
from seek.serving.state import ServerState

_SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": JobRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["app", "file"],
                    "properties": {
                        "app": {"type": "string", "minLength": 1, "maxLength": 100},
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            },
        },
    },
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 200},
            "description": "the same key returns the job first created with it",
        }
    ],
}
_JOB_ERRORS = {**ERRORS, 409: {"model": ERRORS[400]["model"], "description": "job not finished"}}


def jobs_router(state: ServerState) -> APIRouter:
    """The job routes."""
    router = APIRouter(tags=["jobs"])

    async def caller(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> Any:
        return token_of(credentials, request)

    def job_for(job_id: str, token: str | None) -> dict[str, Any]:
        assert state.store is not None
        job = state.store.get(job_id) if len(job_id) <= 64 else None
        state.authorize(token, "jobs", job["app"] if job else None)
        if job is None:
            raise ApiError(404, f"no job {job_id!r} (unknown, deleted or expired)")
        return job

    @router.post(
        "/v1/jobs",
        response_model=JobStatus,
        status_code=202,
        responses={**ERRORS, 200: {"model": JobStatus, "description": "already submitted with this Idempotency-Key"}},
        openapi_extra=_SUBMIT_BODY,
        summary="submit a job: JSON records, or a file upload (CSV, JSON Lines, JSON, zip, DICOM)",
    )
    async def submit(request: Request, token: Annotated[str | None, Depends(caller)]) -> Any:
        assert state.store is not None and state.job_settings is not None
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        idem = request.headers.get("idempotency-key") or None
        if idem is not None and len(idem) > 200:
            raise ApiError(400, "Idempotency-Key longer than 200 characters")
        upload = None
        if kind == "multipart/form-data":
            form = await request.form(max_files=1, max_fields=4)
            app, upload = form.get("app"), form.get("file")
            if not isinstance(app, str) or not app or upload is None or isinstance(upload, str):
                raise ApiError(422, "multipart job needs fields 'app' (text) and 'file' (a file)")
            try:
                upload_kind(upload.filename or "")
            except DataError as exc:
                raise ApiError(422, str(exc)) from None
            payload: dict[str, Any] = {"file": upload.filename}
        elif kind == "application/json":
            try:
                parsed = JobRequest.model_validate_json(await request.body())
            except ValidationError as exc:
                fields = field_errors(list(exc.errors()))
                error = ApiError(422, f"invalid job: {fields[0]['field']}: {fields[0]['message']}")
                error.fields = fields  # type: ignore[attr-defined]
                raise error from None
            app, payload = parsed.app, {"records": parsed.records}
        else:
            raise ApiError(415, "send application/json or multipart/form-data")
        state.authorize(token, "jobs", app)
        if app not in state.hosts:
            raise ApiError(404, f"model {app!r} is not served here")
        job, created = state.store.create(new_job(app, payload, idem))
        if created and upload is not None:
            folder = state.job_settings.uploads / job["id"]
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / str(payload["file"]), "wb") as out:
                shutil.copyfileobj(upload.file, out)  # type: ignore[union-attr]
        if created:
            state.queue.submit(job["id"])
        from fastapi.responses import JSONResponse

        return JSONResponse(_status(job), status_code=202 if created else 200)

    @router.get("/v1/jobs/{job_id}", response_model=JobStatus, responses=ERRORS, summary="a job's state and progress")
    async def status(job_id: str, token: Annotated[str | None, Depends(caller)]) -> Any:
        return _status(job_for(job_id, token))

    @router.get("/v1/jobs/{job_id}/result", response_model=JobResult, responses=_JOB_ERRORS, summary="a job's answers")
    async def result(job_id: str, token: Annotated[str | None, Depends(caller)]) -> Any:
        assert state.store is not None
        job = job_for(job_id, token)
        answers = state.store.result(job_id) if job["state"] == "succeeded" else None
        if answers is None:
            detail = f": {job['error']}" if job.get("error") and job["state"] == "dead" else ""
            raise ApiError(409, f"job {job_id} is {job['state']}, no result{detail}")
        return {"id": job_id, "app": job["app"], "model_version": job.get("model_version"), "predictions": answers}

    @router.delete(
        "/v1/jobs/{job_id}", response_model=JobStatus, responses=ERRORS, summary="delete a job and its result"
    )
    async def delete(job_id: str, token: Annotated[str | None, Depends(caller)]) -> Any:
        assert state.store is not None and state.job_settings is not None
        job_for(job_id, token)
        state.store.delete(job_id)
        shutil.rmtree(state.job_settings.uploads / job_id, ignore_errors=True)
        job = state.store.get(job_id)
        assert job is not None
        return _status(job)

    return router


def _status(job: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "app", "state", "progress", "attempts", "created", "updated", "error", "model_version")
    out = {k: job.get(k) for k in keys}
    if out["model_version"] is not None:
        out["model_version"] = str(out["model_version"])
    return out
