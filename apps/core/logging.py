"""Structured logs: one JSON object per line, with the request id and task of the work."""

import logging

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from apps.core import context


class ContextFilter(logging.Filter):
    """Stamp each record with the request id and Celery task bound in the current context."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.current_request_id()
        task = context.current_task()
        record.task_id, record.task_name = task if task else (None, None)
        return True


class JsonFormatter(_JsonFormatter):
    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(task_id)s "
            "%(task_name)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
