"""Names and numbers of the Serve application, in one place."""

from __future__ import annotations

from serving.contract import ErrorCode

APP_NAME = "fakewatch"
API_TITLE = "fakewatch"
API_VERSION = "1"

# Deployment names (also what `serve status` shows and what the YAML's `deployments:` refer to).
INGRESS = "Ingress"
MEDIA_PREP = "MediaPrep"
IMAGE_MODEL = "ImageModel"
VIDEO_MODEL = "VideoModel"

# A multipart body carries a little more than the file: boundary lines and part headers.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
UPLOAD_FIELD = "file"
MAX_FILENAME_CHARS = 200

# HTTP status for each intake error code (DEVELOPERS.md "Serving HTTP contract").
STATUS_FOR_ERROR: dict[str, int] = {
    ErrorCode.TOO_LARGE.value: 413,
    ErrorCode.TOO_LONG.value: 413,
    ErrorCode.EMPTY.value: 415,
    ErrorCode.UNSUPPORTED.value: 415,
    ErrorCode.CORRUPT.value: 422,
    ErrorCode.TIMEOUT.value: 422,
    ErrorCode.NOT_FOUND.value: 400,
    ErrorCode.INTERNAL.value: 500,
}

# Error codes of answers that are not a CheckResult ({"error": {"code", "message"}}).
OVERLOADED = "overloaded"
REQUEST_TIMEOUT = "request_timeout"
BAD_REQUEST = "bad_request"
INTERNAL = "internal"
UNAVAILABLE = "unavailable"
UNAUTHORIZED = "unauthorized"  # 401: no API key where one is required, or a bad one
RATE_LIMITED = "rate_limited"  # 429: this key (or address) is over its rate or byte budget

# Ray Serve's documented throughput mode (Ray >= 2.56): user code on the replica's own event loop,
# gRPC between deployments, buffered request logs. Measured on the 2-core box
# (benchmarks/bench_serving.py, batching on, Ray defaults -> this): image checks/s 37.8 -> 44.9 at
# concurrency 16 and 41.8 -> 50.9 at 64; CPU per check of all Serve processes 47 -> 41 ms and
# 48 -> 37 ms (benchmarks/results/serving-cpu2*.json). Two of its parts stay off: direct ingress (replicas would
# listen on ports 30000-31000 instead of FAKEWATCH_HTTP_PORT, and no proxy would run) and the
# router on the caller's loop (a driver-side DeploymentHandle used from several event loops, as
# tests and benchmarks do, breaks with it). These are process environment variables: they reach
# the Ray processes a local ``ray.init`` starts; a cluster you join needs them in its own env.
RAY_SERVE_ENV: dict[str, str] = {
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    "RAY_SERVE_ENABLE_DIRECT_INGRESS": "0",
    "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "1",
}

# Files of the upload page (served from the package; nothing external).
STATIC_FILES: dict[str, str] = {
    "app.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
}
