"""`flowrun controller --spec FILE` as a real process, following its spec the way a
Kubernetes ConfigMap volume updates it: `pipeline.yaml -> ..data/pipeline.yaml`, and
`..data` swapped atomically to a new timestamped folder. Thresholds reach a real gRPC
directive stream; a bad edit is logged with its position and the old policy stays."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from fixtures.controller_process import (
    FLOWRUN,
    WAIT_SECONDS,
    ControllerProcess,
)
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl import flow_control_pb2 as fc
from flowctl import flow_control_pb2_grpc as fc_grpc
from google.protobuf.empty_pb2 import Empty
from polling import wait_for

pytestmark = pytest.mark.timeout(120)


def spec_text(activate_at: float, deactivate_at: float, throttle_rate: float = 0.5) -> str:
    spec: dict[str, Any] = {
        "apiVersion": "flowctl/v1",
        "kind": "Pipeline",
        "metadata": {"name": "followed"},
        "spec": {
            "controller": {"endpoint": "127.0.0.1:0", "heartbeat_ttl": "30s"},
            "flow_control": {
                "activate_at": activate_at,
                "deactivate_at": deactivate_at,
                "throttle_rate": throttle_rate,
            },
            "components": {
                "source": {"type": "source", "command": [sys.executable, "-c", "pass"]},
                "sink": {
                    "type": "sink",
                    "inputs": ["source"],
                    "command": [sys.executable, "-c", "pass"],
                },
            },
        },
    }
    return yaml.safe_dump(spec, sort_keys=False)


class ConfigMapVolume:
    """A folder laid out as the kubelet lays out a ConfigMap volume, updated as it does:
    the new content in a new timestamped folder, then `..data` renamed over atomically."""

    def __init__(self, root: Path, key: str = "pipeline.yaml") -> None:
        self.root = root
        self.key = key
        self.generation = 0
        self.root.mkdir()
        (self.root / key).symlink_to(Path("..data") / key)

    @property
    def path(self) -> Path:
        return self.root / self.key

    def publish(self, text: str) -> None:
        self.generation += 1
        folder = f"..2024_01_01_00_00_{self.generation:02d}.000000001"
        (self.root / folder).mkdir()
        (self.root / folder / self.key).write_text(text, encoding="utf-8")
        staged = self.root / "..data_tmp"
        staged.symlink_to(folder)
        os.replace(staged, self.root / "..data")  # rename(2): the swap the kubelet does


def follow(
    volume: ConfigMapVolume, running: list[ControllerProcess], *args: str
) -> tuple[ControllerProcess, str]:
    controller = ControllerProcess("--spec", str(volume.path), *args)
    running.append(controller)
    address = controller.address()
    following = controller.lines.get(timeout=WAIT_SECONDS)
    assert following.startswith("following "), following
    return controller, address


def test_a_data_swap_pushes_new_thresholds_and_a_bad_edit_keeps_the_old(
    tmp_path: Path, running: list[ControllerProcess]
) -> None:
    volume = ConfigMapVolume(tmp_path / "config")
    volume.publish(spec_text(0.9, 0.6))
    controller, address = follow(volume, running)
    assert address.startswith("127.0.0.1:") and not address.endswith(":0")  # from the spec

    with grpc.insecure_channel(address) as channel:
        plane = cp_grpc.ControlPlaneStub(channel)
        flow = fc_grpc.FlowControlStub(channel)
        for name, kind in (("source", cp.SERVICE_TYPE_SOURCE), ("sink", cp.SERVICE_TYPE_SINK)):
            plane.Register(
                cp.ServiceInfo(service_id=f"{name}-1", component_id=name, service_type=kind),
                timeout=WAIT_SECONDS,
            )
        streams = {
            name: flow.WatchDirectives(
                fc.DirectiveRequest(service_id=f"{name}-1"), timeout=WAIT_SECONDS * 3
            )
            for name in ("source", "sink")
        }
        first = {name: next(stream) for name, stream in streams.items()}
        assert {d.policy.activate_at for d in first.values()} == {0.9}

        volume.publish(spec_text(0.7, 0.5, throttle_rate=0.25))
        pushed = {name: next(stream) for name, stream in streams.items()}
        for directive in pushed.values():
            assert directive.policy.revision == first["source"].policy.revision + 1
            assert (directive.policy.activate_at, directive.policy.deactivate_at) == (0.7, 0.5)
            assert directive.policy.throttle_rate == 0.25

        volume.publish(spec_text(0.5, 0.7))  # deactivate_at above activate_at: refused
        rejected = wait_for(
            lambda: next((line for line in controller.errors if "edit rejected" in line), None),
            WAIT_SECONDS,
            "the bad edit to be rejected in the log",
        )
        assert str(volume.path) in rejected
        position = re.compile(re.escape(str(volume.path)) + r":\d+:\d+: spec\.flow_control")
        assert wait_for(
            lambda: any(position.search(line) for line in controller.errors),
            WAIT_SECONDS,
            "the FILE:LINE:COL issue in the log",
        )
        kept = fc_grpc.FlowControlStub(channel).GetPolicy(Empty(), timeout=WAIT_SECONDS)
        assert (kept.activate_at, kept.deactivate_at) == (0.7, 0.5)
        assert kept.revision == pushed["source"].policy.revision

        volume.publish(spec_text(0.6, 0.4, throttle_rate=0.25))  # fixed: applied again
        fixed = next(streams["sink"])
        assert fixed.policy.activate_at == 0.6
        assert fixed.policy.revision == kept.revision + 1
        for stream in streams.values():
            stream.cancel()
    assert controller.stop() == 0


def test_an_edit_rejected_for_a_missing_env_file_applies_once_the_file_is_made(
    tmp_path: Path, running: list[ControllerProcess]
) -> None:
    """A deploy that writes the spec before the env_file it names: the edit is rejected,
    and the file arriving retries it (the follower watches what the rejected text names),
    as an edit of the spec itself would."""
    folder = tmp_path / "config"
    folder.mkdir()
    spec = folder / "pipeline.yaml"
    spec.write_text(spec_text(0.9, 0.6), encoding="utf-8")
    controller = ControllerProcess("--spec", str(spec))
    running.append(controller)
    address = controller.address()
    assert controller.lines.get(timeout=WAIT_SECONDS).startswith("following ")

    edited = yaml.safe_load(spec_text(0.7, 0.5))
    edited["spec"]["components"]["sink"]["env_file"] = "sink.env"
    spec.write_text(yaml.safe_dump(edited, sort_keys=False), encoding="utf-8")
    wait_for(
        lambda: any("edit rejected" in line for line in controller.errors),
        WAIT_SECONDS,
        "the edit naming a missing env_file to be rejected",
    )
    (folder / "sink.env").write_text("LOG_LEVEL=debug\n", encoding="utf-8")

    with grpc.insecure_channel(address) as channel:
        flow = fc_grpc.FlowControlStub(channel)
        applied = wait_for(
            lambda: (p := flow.GetPolicy(Empty(), timeout=WAIT_SECONDS)).activate_at == 0.7 and p,
            WAIT_SECONDS,
            "the edit applied once its env_file exists",
        )
    assert applied.deactivate_at == 0.5
    assert controller.stop() == 0


def test_flags_override_the_spec_address_and_policy_flags_are_refused(
    tmp_path: Path, running: list[ControllerProcess]
) -> None:
    volume = ConfigMapVolume(tmp_path / "config")
    volume.publish(spec_text(0.9, 0.6))
    controller, address = follow(volume, running, "--listen", "127.0.0.1:0")
    with grpc.insecure_channel(address) as channel:
        policy = fc_grpc.FlowControlStub(channel).GetPolicy(Empty(), timeout=WAIT_SECONDS)
    assert policy.activate_at == 0.9
    assert controller.stop() == 0

    refused = subprocess.run(
        [FLOWRUN, "controller", "--spec", str(volume.path), "--activate-at", "0.5"],
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert refused.returncode == 2
    assert "--activate-at" in refused.stderr and "comes from the spec" in refused.stderr


def test_a_bad_spec_at_start_is_one_message(tmp_path: Path) -> None:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(spec_text(0.5, 0.7), encoding="utf-8")
    failed = subprocess.run(
        [FLOWRUN, "controller", "--spec", str(spec)],
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert failed.returncode == 1
    assert re.search(re.escape(str(spec)) + r":\d+:\d+: spec\.flow_control", failed.stderr)
    assert "Traceback" not in failed.stderr
