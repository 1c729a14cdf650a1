"""The request id follows work into Celery: a task published while a request id is bound
(an HTTP request, or another task) carries it in a message header, and the worker binds it
while the task runs, so every log line of a campaign's tasks names the request that started
the send. A task published with none (beat, a retry of an old message) gets a fresh one.
"""

from contextvars import Token

from celery.signals import before_task_publish, task_postrun, task_prerun

from config.request_log import new_request_id, request_id_var

HEADER = "request_id"

# The token to restore after each running task, by task id (a worker may run several).
_bound: dict[str, Token] = {}


def _on_publish(headers: dict | None = None, **_) -> None:
    request_id = request_id_var.get()
    if headers is not None and request_id != "-":
        headers.setdefault(HEADER, request_id)


def _on_start(task_id: str, task, **_) -> None:
    # An eager task (tests, task.apply) runs in its caller's context: keep the caller's id.
    request_id = getattr(task.request, HEADER, None) or request_id_var.get()
    if request_id == "-":
        request_id = new_request_id()
    _bound[task_id] = request_id_var.set(request_id)


def _on_finish(task_id: str, **_) -> None:
    token = _bound.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)


def connect() -> None:
    """Connect the signal handlers (once; Celery keeps strong references)."""
    before_task_publish.connect(_on_publish, weak=False, dispatch_uid="mailpulse-request-id")
    task_prerun.connect(_on_start, weak=False, dispatch_uid="mailpulse-request-id")
    task_postrun.connect(_on_finish, weak=False, dispatch_uid="mailpulse-request-id")
