"""The layers of DESIGN.md section 2, checked on the source: who may import whom.

Bottom up: `flowctl` (the SDK and the runner/component contract) imports nothing of
`flowrun` nor of a component package; the component packages import flowctl and the
shared `stellar_common`, never one another; `stellar_common` imports no component
package. The modules are read with `ast`, never imported, so a violation inside a
function or under `if TYPE_CHECKING:` counts too, and nothing runs.

Each rule is one `*_violations(root)` function returning one message per forbidden
import (`FILE:LINE: imports MODULE (why)`), and one test asserting it finds none.
Rules for the runner's own layers belong here too, as functions of the same shape.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = REPO_ROOT / "components"
RUNNER_ROOT = REPO_ROOT / "runner"

SDK = "flowctl"
SHARED_STELLAR = "stellar_common"
RUNNER = "flowrun"


@dataclass(frozen=True)
class Import:
    """One absolute import statement of a module: `import a.b` or `from a.b import c`."""

    file: Path
    line: int
    module: str

    @property
    def top_level(self) -> str:
        return self.module.split(".")[0]

    def describe(self, root: Path, why: str) -> str:
        return f"{self.file.relative_to(root.parent)}:{self.line}: imports {self.module} ({why})"


def imports_in(path: Path) -> Iterator[Import]:
    """Every absolute import of the module at `path` (relative ones stay in its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield Import(path, node.lineno, node.module)


def packages(root: Path) -> list[str]:
    """The top-level packages under `root` (folders with an __init__.py)."""
    return sorted(path.parent.name for path in root.glob("*/__init__.py"))


def package_imports(root: Path, package: str) -> Iterator[Import]:
    for path in sorted((root / package).rglob("*.py")):
        yield from imports_in(path)


def _violations(root: Path, package: str, forbidden: Callable[[str], bool], why: str) -> list[str]:
    return [
        found.describe(root, why)
        for found in package_imports(root, package)
        if forbidden(found.top_level)
    ]


# -- the rules ------------------------------------------------------------------------


def flowctl_violations(root: Path = COMPONENTS) -> list[str]:
    """flowctl is the bottom layer: nothing of flowrun, nothing of a component package."""
    above = {RUNNER, *packages(root)} - {SDK}
    return _violations(
        root,
        SDK,
        above.__contains__,
        "flowctl is the bottom layer: it imports nothing of flowrun nor of a component",
    )


def component_violations(root: Path = COMPONENTS) -> list[str]:
    """A component package imports flowctl and stellar_common, never another component
    package, nor flowrun."""
    components = set(packages(root)) - {SDK, SHARED_STELLAR}
    found: list[str] = []
    for package in sorted(components):
        others = {RUNNER, *components} - {package}
        found += _violations(
            root,
            package,
            others.__contains__,
            f"{package} may import flowctl and stellar_common, never another component",
        )
    return found


def stellar_common_violations(root: Path = COMPONENTS) -> list[str]:
    """stellar_common is shared by the components, so it imports none of them."""
    components = set(packages(root)) - {SDK, SHARED_STELLAR}
    return _violations(
        root,
        SHARED_STELLAR,
        {RUNNER, *components}.__contains__,
        "stellar_common is below the components: it imports none of them",
    )


# The runner's layers, bottom up, each with the layers it may import; `errors` and
# `secrets` sit under all of them. `deploy` (deployment targets: Kubernetes) sits beside
# `supervision`: both run what `spec` defines, neither knows the other, and what may
# import `supervision` may import `deploy`.
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "spec": (),
    "controller": ("spec",),
    "supervision": ("spec", "controller"),
    "deploy": ("spec",),
    "reload": ("spec", "controller", "supervision", "deploy"),
    "daemon": ("spec", "controller", "supervision", "deploy", "reload"),
    "cli": ("spec", "controller", "supervision", "deploy", "reload", "daemon"),
}
RUNNER_LAYERS = tuple(MAY_IMPORT)
RUNNER_BASE = ("errors", "secrets")


def runner_violations(root: Path = RUNNER_ROOT, components: Path = COMPONENTS) -> list[str]:
    """flowrun's packages import only the layers they may (and flowctl, never a component
    package); `errors` and `secrets` import no layer at all."""
    found: list[str] = []
    component_packages = set(packages(components)) - {SDK}
    for path in sorted((root / RUNNER).rglob("*.py")):
        own = path.relative_to(root / RUNNER).parts[0].removesuffix(".py")
        allowed = MAY_IMPORT.get(own, ())
        for found_import in imports_in(path):
            parts = found_import.module.split(".")
            if parts[0] in component_packages:
                found.append(found_import.describe(root, "the runner never imports a component"))
            if parts[0] != RUNNER or len(parts) < 2 or parts[1] not in RUNNER_LAYERS:
                continue
            if parts[1] not in allowed and parts[1] != own:
                why = f"flowrun.{own} may import {', '.join(allowed) or 'no layer'}"
                found.append(found_import.describe(root, why))
    return found


RULES = [flowctl_violations, component_violations, stellar_common_violations]


# -- the tests ------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_the_components_keep_to_their_layer(rule: Callable[[Path], list[str]]) -> None:
    violations = rule(COMPONENTS)
    assert not violations, "forbidden imports:\n" + "\n".join(violations)


def test_the_runner_keeps_to_its_layers() -> None:
    violations = runner_violations()
    assert not violations, "forbidden imports:\n" + "\n".join(violations)


def test_the_runner_rule_names_a_layer_imported_from_below(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "runner",
        {
            "flowrun/__init__.py": "",
            "flowrun/errors.py": "",
            "flowrun/spec/model.py": "from flowrun.errors import FlowrunError\n",
            "flowrun/supervision/x.py": "from flowrun.spec import model\n"
            "from flowrun.controller.server import Controller\n"
            "def f():\n    from flowrun.daemon.app import Runner\n",
        },
    )
    (violation,) = runner_violations(root, tmp_path / "components")
    assert violation.startswith("runner/flowrun/supervision/x.py:4: imports flowrun.daemon.app")
    assert "may import spec, controller" in violation


def test_the_scan_sees_the_packages_and_their_imports() -> None:
    # A scan that found nothing would pass every rule: make sure it reads the real tree.
    assert {SDK, SHARED_STELLAR, "stellar_arrow_source"} <= set(packages(COMPONENTS))
    sink_imports = {
        found.top_level for found in package_imports(COMPONENTS, "arrow_analytics_sink")
    }
    assert {SDK, SHARED_STELLAR, "pyarrow"} <= sink_imports


def _tree(root: Path, modules: dict[str, str]) -> Path:
    for name, source in modules.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("rule", "module", "source"),
    [
        (flowctl_violations, "flowctl/errors.py", "from flowrun.errors import FlowrunError\n"),
        (flowctl_violations, "flowctl/io.py", "def f():\n    import processor.server\n"),
        (component_violations, "sink/server.py", "from processor.schema import SCHEMA\n"),
        (component_violations, "processor/x.py", "if True:\n    from flowrun import cli\n"),
        (stellar_common_violations, "stellar_common/spans.py", "import sink.writer as w\n"),
    ],
)
def test_each_rule_names_the_file_line_and_forbidden_import(
    tmp_path: Path, rule: Callable[[Path], list[str]], module: str, source: str
) -> None:
    root = _tree(
        tmp_path / "components",
        {f"{package}/__init__.py": "" for package in (SDK, SHARED_STELLAR, "processor", "sink")}
        | {
            "processor/ok.py": "import pyarrow\nfrom flowctl import options\n"
            "from stellar_common.spans import LEDGER_SPANS\nfrom . import ok\n",
            module: source,
        },
    )
    (violation,) = rule(root)
    line = source.count("\n", 0, source.index("import")) + 1
    assert violation.startswith(f"components/{module}:{line}: imports ")
    assert violation.split(" imports ")[1].split(" ")[0] in source


def test_deploy_sits_beside_supervision(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "runner",
        {
            "flowrun/__init__.py": "",
            "flowrun/deploy/k.py": "from flowrun.spec.loader import LoadedSpec\n"
            "from flowrun.supervision.process import spawn\n",
            "flowrun/supervision/x.py": "from flowrun.deploy.k import build\n",
            "flowrun/cli/c.py": "from flowrun.deploy.k import build\n",
        },
    )
    violations = runner_violations(root, tmp_path / "components")
    assert [v.split(": imports ")[0] for v in violations] == [
        "runner/flowrun/deploy/k.py:2",
        "runner/flowrun/supervision/x.py:1",
    ]
    assert "flowrun.deploy may import spec" in violations[0]
