"""``fakewatch serve``: run the Serve application on a local Ray (or join an existing cluster).

Why not just ``serve run``: this is the embedded default of ``make run`` and docker compose —
one command, settings from ``FAKEWATCH_*``, a clean stop on Ctrl-C / SIGTERM. ``serve run
serving/app/serve_config.yaml`` works too (see serving/app/README.md).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import yaml

from serving.app.constants import APP_NAME, RAY_SERVE_ENV

log = logging.getLogger(__name__)

# The Serve HTTP proxy's own timeout is only a backstop (it answers 408); ours answers 504 first.
PROXY_TIMEOUT_MARGIN_S = 30.0


def _parse_set(pairs: list[str]) -> dict[str, Any]:
    """``--set image.max_batch_size=8 --set settings.frames_per_video=8`` → nested dict."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"fakewatch serve: --set wants KEY=VALUE, got {pair!r}")
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(raw)
    return out


def use_throughput_mode(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Put Ray Serve's throughput settings (``RAY_SERVE_ENV``) into the environment that a local
    ``ray.init`` hands to every Ray process; values already set win (an operator can turn any
    of them back). Call it before ``ray.init``. Returns the values in effect."""
    environ = os.environ if environ is None else environ
    for key, value in RAY_SERVE_ENV.items():
        environ.setdefault(key, value)
    return {key: environ[key] for key in RAY_SERVE_ENV}


def use_trusted_proxies(trusted: list[str], environ: MutableMapping[str, str] | None = None) -> str:
    """Tell the Serve HTTP proxy (uvicorn) whose ``X-Forwarded-For`` / ``-Proto`` to believe:
    exactly ``settings.trusted_proxies`` ("" = nobody). Uvicorn's own default believes any local
    process (127.0.0.1), which would let one pose as any client address. Like
    ``use_throughput_mode``: before ``ray.init``, and a value already set wins."""
    environ = os.environ if environ is None else environ
    environ.setdefault("FORWARDED_ALLOW_IPS", ",".join(trusted))
    return environ["FORWARDED_ALLOW_IPS"]


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def _args_from_config(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(app args, http_options) from a Serve config file (our application's block)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    apps = doc.get("applications") or []
    app = next((a for a in apps if a.get("name") == APP_NAME), apps[0] if apps else {})
    return dict(app.get("args") or {}), dict(doc.get("http_options") or {})


def _join_cluster(ray: Any, address: str, attempts: int = 5, first_wait_s: float = 2.0) -> None:
    """Connect to the Ray cluster, retrying a refused or aborted connection with back-off.

    A head that is still starting, or a Ray Client server that dies as it starts on a busy node
    (seen in CI), refuses the first connection; a deployer that exits then needs a restart policy
    to come back. A typo in the address fails every attempt and still ends the process.
    """
    wait = first_wait_s
    for attempt in range(1, attempts + 1):
        try:
            ray.init(address=address)
            return
        except ConnectionError as exc:
            if attempt == attempts:
                raise
            log.warning(
                "joining Ray at %s failed (%s); attempt %d of %d in %.0f s", address, exc, attempt + 1, attempts, wait
            )
            ray.shutdown()
            time.sleep(wait)
            wait *= 2


def serve_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fakewatch serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="HTTP host (default: FAKEWATCH_HTTP_HOST)")
    parser.add_argument("--port", type=int, help="HTTP port (default: FAKEWATCH_HTTP_PORT)")
    parser.add_argument(
        "--address",
        help="join this Ray cluster ('auto', 'ray://head:10001'); default FAKEWATCH_RAY_ADDRESS or a local Ray",
    )
    parser.add_argument("--num-cpus", type=int, help="CPUs for a local Ray (default: all)")
    parser.add_argument("--config", type=Path, help="a Serve config YAML to take app args from")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override an app arg")
    opts = parser.parse_args(argv)

    from fakewatch.settings import get_settings

    settings = get_settings("serving")
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app_args: dict[str, Any] = {}
    http_options: dict[str, Any] = {}
    if opts.config:
        app_args, http_options = _args_from_config(opts.config)
    _merge(app_args, _parse_set(opts.set))

    import ray
    from ray import serve

    from serving.app.args import AppArgs
    from serving.app.builder import access_args, build_app

    host = opts.host or settings.http_host
    port = opts.port or settings.http_port
    # the real bind decides whether API keys are required (settings.api_access "auto")
    args = AppArgs.model_validate({**app_args, "bind_host": host})  # fail on a typo before Ray
    address = opts.address or settings.ray_address
    joined = bool(address)
    try:
        settings.check_secrets_for_bind(host, service="serving")  # FAKEWATCH_HTTP_HOST was checked on load; --host here
    except ValueError as exc:
        raise SystemExit(f"fakewatch serve: {exc}") from None
    timeout = args.request_timeout_s or settings.request_timeout_s

    if joined:
        _join_cluster(ray, str(address))
    else:
        use_throughput_mode()
        use_trusted_proxies(settings.trusted_proxies)
        ray.init(num_cpus=opts.num_cpus, include_dashboard=False)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        serve.start(
            http_options={
                "host": host,
                "port": port,
                "request_timeout_s": http_options.get("request_timeout_s", timeout + PROXY_TIMEOUT_MARGIN_S),
            }
        )
        serve.run(build_app(args), name=APP_NAME, route_prefix="/")
        access = access_args(args)
        print(
            f"fakewatch serving on http://{host}:{port}/ (API access: {access['mode']}, "
            f"key file {access['keys_file']}; Ctrl-C to stop)",
            flush=True,
        )
        while not stop.wait(0.5):
            pass
        print("fakewatch serve: stopping", flush=True)
    finally:
        try:
            if joined:
                serve.delete(APP_NAME)  # leave the cluster's other applications alone
            else:
                serve.shutdown()
        finally:
            ray.shutdown()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(serve_main(sys.argv[1:]))
