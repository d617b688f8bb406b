"""Reaching a cluster: the kubeconfig as kubectl finds it, and the few REST calls flowrun makes.

kubectl's order: `--kubeconfig`, else $KUBECONFIG (a list of files, merged), else
~/.kube/config, else the service account of the pod we run in. Every failure of the
client (no configuration, connection refused, 403, 404 on a missing namespace) becomes a
`ClusterError` naming the server and what to do, so the CLI prints one line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flowrun.errors import ClusterError

FIELD_MANAGER = "flowrun"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
REQUEST_TIMEOUT_SECONDS = (10.0, 60.0)  # (connect, read)
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class ClusterChoice:
    """Which cluster: the flags of the command (None: as kubectl would choose)."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None


def _kubeconfig_path(choice: ClusterChoice) -> str | None:
    """The kubeconfig file(s) kubectl would read, or None when there are none."""
    if choice.kubeconfig:
        return choice.kubeconfig
    listed = os.environ.get("KUBECONFIG", "")
    if any(part for part in listed.split(os.pathsep)):
        return listed
    default = Path("~/.kube/config").expanduser()
    return str(default) if default.exists() else None


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


class Cluster:
    """One connection to the API server, with the calls the driver needs, answering dicts."""

    def __init__(self, api_client: Any, namespace: str, where: str) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self.where = where
        """How the cluster was chosen (context and server), for messages."""

    @classmethod
    def connect(cls, choice: ClusterChoice) -> Cluster:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        path = _kubeconfig_path(choice)
        configuration = client.Configuration()
        try:
            if path is None and _in_cluster() and choice.context is None:
                config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
                namespace = choice.namespace or _service_account_namespace()
                where = f"in-cluster ({configuration.host})"
            elif path is None:
                raise ClusterError(
                    "no kubeconfig: give --kubeconfig FILE, set KUBECONFIG, or create "
                    "~/.kube/config (as kubectl uses)"
                )
            else:
                config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=path,
                    context=choice.context,
                    client_configuration=configuration,
                    persist_config=False,
                )
                context = _context_entry(path, choice.context)
                namespace = choice.namespace or context.get("namespace") or DEFAULT_NAMESPACE
                where = f"context {context.get('name')!r} ({configuration.host}) of {path}"
        except (ConfigException, OSError, ValueError, TypeError, KeyError) as e:
            source = path or "the in-cluster service account"
            raise ClusterError(f"cannot use {source}: {e}") from e
        configuration.retries = 0  # one refused connection is the answer; kubectl does not retry
        return cls(client.ApiClient(configuration), str(namespace), where)

    def close(self) -> None:
        self.api_client.close()

    # -- the calls ----------------------------------------------------------------------

    def apply(self, path: str, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply of one object: ours are the fields we send, forcibly."""
        query = {"fieldManager": FIELD_MANAGER, "force": "true"}
        return self.request("PATCH", path, query, manifest, content_type=APPLY_CONTENT_TYPE)

    def list(self, path: str, label_selector: str) -> list[dict[str, Any]]:
        answer = self.request("GET", path, {"labelSelector": label_selector})
        return list(answer.get("items") or [])

    def delete(self, path: str) -> None:
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        self.request("DELETE", path, {}, body, missing_ok=True)

    def pod_log(self, pod: str, *, tail: int | None, since_seconds: int | None) -> str:
        from kubernetes import client

        with self._translated(f"the log of pod {pod}"):
            text = client.CoreV1Api(self.api_client).read_namespaced_pod_log(
                pod,
                self.namespace,
                tail_lines=tail,
                since_seconds=since_seconds,
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
        return str(text or "")

    def request(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: dict[str, Any] | None = None,
        *,
        content_type: str = "application/json",
        missing_ok: bool = False,
    ) -> dict[str, Any]:
        """One REST call through the client's own configuration (auth, TLS, proxy)."""
        url = path + ("?" + urlencode(query) if query else "")
        headers = {"Accept": "application/json", "Content-Type": content_type}
        with self._translated(f"{method} {path}"):
            status, data = _call(self.api_client, method, url, headers, body)
        if missing_ok and status == 404:
            return {}
        if not 200 <= status < 300:
            raise ClusterError(_refusal(self.where, method, path, status, data))
        return dict(json.loads(data)) if data.strip() else {}

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            yield
        except ApiException as e:
            raise ClusterError(
                _refusal(self.where, what, "", int(e.status or 0), str(e.body or e.reason))
            ) from e
        except HTTPError as e:
            reason = getattr(e, "reason", None) or e
            raise ClusterError(
                f"cannot reach the cluster of {self.where}: {reason} (is it running, and "
                "is this the context you meant? see --context, --kubeconfig)"
            ) from e


def _call(
    api_client: Any, method: str, url: str, headers: dict[str, str], body: Any
) -> tuple[int, str]:
    """(status, body text); the generated client changed its call_api between releases."""
    if hasattr(api_client, "param_serialize"):  # kubernetes >= 35 (new generator)
        serialized = api_client.param_serialize(
            method=method,
            resource_path=url,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = api_client.call_api(*serialized, _request_timeout=REQUEST_TIMEOUT_SECONDS)
        response.read()
        return int(response.status), _text(response.data)
    response = api_client.call_api(  # the older generator's signature
        url,
        method,
        header_params=headers,
        body=body,
        auth_settings=["BearerToken"],
        _preload_content=False,
        _return_http_data_only=True,
        _request_timeout=REQUEST_TIMEOUT_SECONDS,
    )
    return int(response.status), _text(response.data)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def _refusal(where: str, method: str, path: str, status: int, data: str) -> str:
    try:
        message = json.loads(data).get("message") or data
    except (ValueError, AttributeError):
        message = data
    action = f"{method} {path}".strip()
    if status in (401, 403):
        hint = "check the credentials and RBAC of this context (kubectl auth can-i)"
    elif status == 404:
        hint = "does the namespace exist? (--namespace, or the context's namespace)"
    else:
        hint = "see the cluster's answer above"
    return f"the cluster of {where} refused {action}: {status} {message}; {hint}"


def _context_entry(path: str, name: str | None) -> dict[str, Any]:
    """The named context (or the current one) as {name, namespace...}."""
    from kubernetes import config

    contexts, current = config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
    chosen = current if name is None else next((c for c in contexts if c["name"] == name), None)
    if chosen is None:
        raise ClusterError(f"{path}: no context named {name!r}")
    return {"name": chosen["name"], **(chosen.get("context") or {})}


def _service_account_namespace() -> str:
    path = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    try:
        return path.read_text(encoding="utf-8").strip() or DEFAULT_NAMESPACE
    except OSError:
        return DEFAULT_NAMESPACE
