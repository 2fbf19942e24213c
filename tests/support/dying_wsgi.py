"""fincore.wsgi, as gunicorn serves it, for the tests of crashes: a request that carries
``X-Test-Die-After-Commit`` kills its worker process after the service committed and before the
Idempotency-Key's record was completed, exactly where a crash costs a merchant the answer."""

import importlib
import os
import threading
from typing import Any

from fincore.wsgi import application as fincore_application

# Only once fincore.wsgi has set Django up: the module reads the models.
idempotency = importlib.import_module("apps.core.idempotency")

_request = threading.local()
_complete = idempotency.idempotency_complete


def _complete_or_die(**arguments: Any) -> None:
    if getattr(_request, "dies", False):
        os._exit(1)  # as SIGKILL would: no cleanup, the connection (and its locks) just go
    _complete(**arguments)


idempotency.idempotency_complete = _complete_or_die


def application(environ: dict[str, Any], start_response: Any) -> Any:
    _request.dies = "HTTP_X_TEST_DIE_AFTER_COMMIT" in environ
    return fincore_application(environ, start_response)
