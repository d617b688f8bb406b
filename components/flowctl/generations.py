"""The variables earlier flowctl clients read, written beside flowrun's own.

`ComponentSettings.to_environ` is the contract of this SDK. Components written against
earlier clients read other names, and the runner writes those too, so that they turn
flowctl on and find the controller under `flowrun up` unchanged
(/docs/flowctl-compat.md has the table):

- flowctl-sdk v0.1.3 (Go; the current obsrvr components): `ENABLE_FLOWCTL`,
  `FLOWCTL_ENDPOINT`, `FLOWCTL_HEARTBEAT_INTERVAL` (already ours), `COMPONENT_ID`, `PORT`
  (`:PORT`, the listen address it also registers as its endpoint) and `HEALTH_PORT`;
- the older obsrvr components: the same flowctl variables prefixed with the component's
  name, upper-cased with `-` as `_`: `TTP_ARROW_PROCESSOR_ENABLE_FLOWCTL`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flowctl.settings import (
    ENABLE_FLOWCTL,
    FLOWCTL_ENDPOINT,
    FLOWCTL_HEARTBEAT_INTERVAL,
    ComponentSettings,
)

COMPONENT_ID = "COMPONENT_ID"
PORT = "PORT"
HEALTH_PORT = "HEALTH_PORT"
UNPREFIXED = (COMPONENT_ID, PORT, HEALTH_PORT)
PREFIXED = (ENABLE_FLOWCTL, FLOWCTL_ENDPOINT, FLOWCTL_HEARTBEAT_INTERVAL)


def env_prefix(name: str) -> str:
    """`ttp-arrow-processor` -> `TTP_ARROW_PROCESSOR`."""
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()


def earlier_generations_environ(
    settings: ComponentSettings, names: Iterable[str] = ()
) -> dict[str, str]:
    """The variables of the earlier clients for this component; `names`: the names its
    prefixed variables may be read under (its name in the spec, its program's name)."""
    ours = settings.to_environ()
    environ = {COMPONENT_ID: settings.component_id}
    port = settings.endpoint.rpartition(":")[2]
    if port.isdigit() and int(port) > 0:
        environ[PORT] = f":{port}"
    if settings.metrics_port:
        environ[HEALTH_PORT] = str(settings.metrics_port)
    for prefix in dict.fromkeys(env_prefix(name) for name in (settings.component_id, *names)):
        if prefix:
            environ.update({f"{prefix}_{variable}": ours[variable] for variable in PREFIXED})
    return environ
