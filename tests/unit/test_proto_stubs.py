"""The committed gRPC stubs must be what proto/generate.py makes of proto/ today."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


def load_generator(repo_root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("proto_generate", repo_root / "proto/generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_stubs_match_the_proto_sources(repo_root: Path, tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    generator = load_generator(repo_root)
    fresh_files = generator.generate(tmp_path)
    assert fresh_files, "proto/generate.py produced nothing"
    stale = []
    for fresh in fresh_files:
        relative = fresh.relative_to(tmp_path)
        committed = repo_root / "components" / relative
        if not committed.exists() or committed.read_bytes() != fresh.read_bytes():
            stale.append(str(relative))
    assert not stale, f"stale generated stubs {stale}: run `make proto` and commit the result"


def test_the_v1_stubs_are_generated_into_their_own_package(repo_root: Path, tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    fresh = {
        str(path.relative_to(tmp_path)) for path in load_generator(repo_root).generate(tmp_path)
    }
    assert {"flowctl/v1/common_pb2.py", "flowctl/v1/control_plane_pb2_grpc.py"} <= fresh
    assert "flowctl/control_plane_pb2.py" in fresh  # the legacy one, beside it
    assert (repo_root / "components/flowctl/v1/__init__.py").exists()


def test_the_v1_wire_contract_has_flowctls_names_and_numbers() -> None:
    from flowctl.v1 import common_pb2, control_plane_pb2

    def numbers(message: type) -> dict[str, int]:
        return {f.name: f.number for f in message.DESCRIPTOR.fields}  # type: ignore[attr-defined]

    assert common_pb2.DESCRIPTOR.package == "flowctl.v1"
    assert numbers(common_pb2.ComponentInfo) == {
        "id": 1, "name": 2, "description": 3, "version": 4, "type": 5,
        "input_event_types": 6, "output_event_types": 7, "endpoint": 8, "metadata": 9,
    }  # fmt: skip
    assert numbers(control_plane_pb2.RegisterRequest) == {"component": 1, "component_id": 2}
    assert numbers(control_plane_pb2.HeartbeatRequest) == {
        "service_id": 1, "status": 2, "metrics": 3,
    }  # fmt: skip
    assert numbers(control_plane_pb2.ComponentStatusResponse) == {
        "component": 1, "status": 2, "last_heartbeat": 3, "metrics": 4, "registered_at": 5,
    }  # fmt: skip
    assert numbers(control_plane_pb2.DiscoveryRequest) == {
        "type": 1, "event_types": 2, "metadata_filters": 3,
    }  # fmt: skip
    service = control_plane_pb2.DESCRIPTOR.services_by_name["ControlPlaneService"]
    assert sorted(method.name for method in service.methods) == [
        "DiscoverComponents", "GetComponentStatus", "Heartbeat", "ListComponents",
        "RegisterComponent", "UnregisterComponent",
    ]  # fmt: skip
    assert common_pb2.HEALTH_STATUS_STOPPING == 5 and common_pb2.COMPONENT_TYPE_CONSUMER == 3
