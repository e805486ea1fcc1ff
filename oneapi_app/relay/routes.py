"""/v1 routes. OpenAI routes the gateway does not relay answer 501 ``api_not_implemented`` (one-api's list)."""

from fastapi import APIRouter

from ..errors import NotImplementedRoute

router = APIRouter(tags=["relay"])

# (methods, path) pairs that one-api answers with 501.
NOT_IMPLEMENTED: list[tuple[list[str], str]] = [
    (["POST"], "/v1/images/edits"),
    (["POST"], "/v1/images/variations"),
    (["GET", "POST"], "/v1/files"),
    (["GET", "DELETE"], "/v1/files/{file_id}"),
    (["GET"], "/v1/files/{file_id}/content"),
    (["GET", "POST"], "/v1/fine_tuning/jobs"),
    (["GET"], "/v1/fine_tuning/jobs/{job_id}"),
    (["POST"], "/v1/fine_tuning/jobs/{job_id}/cancel"),
    (["GET"], "/v1/fine_tuning/jobs/{job_id}/events"),
    (["DELETE"], "/v1/models/{model}"),
    (["GET", "POST"], "/v1/assistants"),
    (["GET", "POST", "DELETE"], "/v1/assistants/{assistant_id}"),
    (["GET", "POST"], "/v1/assistants/{assistant_id}/files"),
    (["GET", "DELETE"], "/v1/assistants/{assistant_id}/files/{file_id}"),
    (["POST"], "/v1/threads"),
    (["GET", "POST", "DELETE"], "/v1/threads/{thread_id}"),
    (["GET", "POST"], "/v1/threads/{thread_id}/messages"),
    (["GET", "POST"], "/v1/threads/{thread_id}/messages/{message_id}"),
    (["GET"], "/v1/threads/{thread_id}/messages/{message_id}/files"),
    (["GET"], "/v1/threads/{thread_id}/messages/{message_id}/files/{file_id}"),
    (["POST"], "/v1/threads/runs"),
    (["GET", "POST"], "/v1/threads/{thread_id}/runs"),
    (["GET", "POST"], "/v1/threads/{thread_id}/runs/{run_id}"),
    (["GET"], "/v1/threads/{thread_id}/runs/{run_id}/steps"),
    (["GET"], "/v1/threads/{thread_id}/runs/{run_id}/steps/{step_id}"),
    (["POST"], "/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs"),
    (["POST"], "/v1/threads/{thread_id}/runs/{run_id}/cancel"),
]


async def not_implemented() -> None:
    raise NotImplementedRoute()


for _methods, _path in NOT_IMPLEMENTED:
    router.add_api_route(_path, not_implemented, methods=_methods, include_in_schema=False)
