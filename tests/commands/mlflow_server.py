"""A real MLflow tracking server in one process: ``python mlflow_server.py HOST PORT BACKEND_URI ARTIFACT_ROOT``.

It serves ``mlflow.server.app``, the Flask app ``mlflow server --waitress-opts/--gunicorn-opts`` serve (the
default uvicorn server wraps the same Flask handlers for the tracking REST API), with werkzeug's threaded
server. ``mlflow server`` would spend two Python processes: the CLI imports MLflow and migrates the store,
then starts uvicorn, which imports MLflow and its FastAPI app again. Here the environment is the one
``mlflow server`` gives its workers (set before ``mlflow.server`` is imported, which reads it), the store is
initialized (created and migrated) by the same ``initialize_backend_stores`` call, and SIGTERM ends it.
"""

from __future__ import annotations

import os
import sys

host, port, backend_uri, artifact_root = sys.argv[1:]
# mlflow.server.constants: the worker environment `mlflow server` sets (its values, without --serve-artifacts)
os.environ.update(
    _MLFLOW_SERVER_FILE_STORE=backend_uri,
    _MLFLOW_SERVER_REGISTRY_STORE=backend_uri,
    _MLFLOW_SERVER_ARTIFACT_ROOT=artifact_root,
    MLFLOW_ENABLE_WORKSPACES="false",
)

from mlflow.server import app  # noqa: E402  (reads the environment above at import)
from mlflow.server.handlers import initialize_backend_stores  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

initialize_backend_stores(backend_uri, backend_uri, artifact_root)
make_server(host, int(port), app, threaded=True).serve_forever()
