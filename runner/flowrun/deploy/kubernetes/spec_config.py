"""The ConfigMap of a pipeline: its rendered spec, and the policy's variables.

`pipeline.yaml` is the spec as `flowrun render` prints it (profile merged, `${}` replaced,
secrets written `***`); the controller mounts the ConfigMap as a folder at /etc/flowrun
(never with subPath, which would freeze the file) and follows the file as the kubelet
swaps it. The policy's variables (flow control, pool, intervals) are what a component pod
reads at start (`configMapKeyRef`): so a threshold edit changes this object alone.
"""

from __future__ import annotations

from typing import Any

from flowrun.deploy.kubernetes.environment import policy_environ
from flowrun.deploy.kubernetes.names import CONFIG_ROLE, SPEC_CONFIG, SPEC_FILE, Naming
from flowrun.spec.loader import LoadedSpec
from flowrun.spec.render import render_yaml as render_spec


def spec_config_map(loaded: LoadedSpec, naming: Naming) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": naming.metadata(SPEC_CONFIG, CONFIG_ROLE),
        "data": {SPEC_FILE: render_spec(loaded), **policy_environ(loaded.body)},
    }
