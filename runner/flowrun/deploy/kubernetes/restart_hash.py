"""The hash of what restarts a component: its pod template's annotation.

Locally, an edit of a field marked `x-reload: component` restarts that component alone
(`flowrun.reload` reads the same marks). On Kubernetes the pod template carries the hash of
those fields, so re-applying after such an edit rolls that Deployment and no other, even
where the edit shows nowhere else in the template; a live edit (a threshold) changes no
template at all. `replicas` is left out: scaling starts or stops pods, it restarts none.
"""

from __future__ import annotations

import hashlib
import json

from flowrun.spec.model import COMPONENT, ComponentSpec, reload_mark

NOT_IN_THE_POD = frozenset({"replicas"})


def _restarting_fields() -> frozenset[str]:
    fields = {
        name for name, info in ComponentSpec.model_fields.items() if reload_mark(info) == COMPONENT
    }
    return frozenset(fields - NOT_IN_THE_POD)


RESTARTING_FIELDS = _restarting_fields()


def restart_hash(spec: ComponentSpec) -> str:
    """16 hex chars of sha256 over the canonical JSON of the restarting fields."""
    data = spec.model_dump(mode="json", include=set(RESTARTING_FIELDS))
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
