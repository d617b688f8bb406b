"""The hint for a component whose own Python lacks a module flowrun's interpreter has."""

from __future__ import annotations

from flowrun.supervision.missing_module import missing_module_hint

TRACEBACK = """Traceback (most recent call last):
  File "/srv/mine.py", line 1, in <module>
    from {module} import Component
ModuleNotFoundError: No module named '{module}'"""


def test_another_python_missing_flowctl_is_told_to_use_flowruns() -> None:
    hint = missing_module_hint(TRACEBACK.format(module="flowctl"), "/usr/bin/python3")
    assert hint == (
        "; /usr/bin/python3 cannot import flowctl, which flowrun's own interpreter has: write "
        "`python` as the program in `command` to run it there, or install flowctl for "
        "/usr/bin/python3"
    )


def test_a_submodule_names_its_package() -> None:
    tail = TRACEBACK.format(module="pyarrow.flight")
    assert "cannot import pyarrow," in missing_module_hint(tail, "venv/bin/python")


def test_no_hint_where_it_would_mislead() -> None:
    # flowrun's own interpreter already: installing elsewhere would not help.
    assert missing_module_hint(TRACEBACK.format(module="flowctl"), "python") == ""
    # A module flowrun's interpreter lacks too: `python` would not have it either.
    assert missing_module_hint(TRACEBACK.format(module="no_such_module_xyz"), "/bin/py") == ""
    assert missing_module_hint("Traceback: ValueError: bad", "/usr/bin/python3") == ""
