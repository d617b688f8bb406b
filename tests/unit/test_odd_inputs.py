"""A user whose world is not ASCII and tidy, at the level of the spec and the CLI: files in
other encodings, variables whose bytes are not UTF-8, NUL characters, names at and past
the limits, paths too long for the kernel, outputs that cannot hold a character, state
directories and registries this user may not read. Each must work, or be refused with one
line per issue that names the file, the key and the fix: never a traceback.

Whole runs in such folders are in tests/e2e/test_odd_paths_and_names.py."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from fixtures.supervision_fakes import component as supervised_component
from fixtures.supervision_fakes import supervising
from flowrun.cli.graph_render import graph_of, mermaid
from flowrun.cli.logs_command import reader_gone
from flowrun.daemon import registry as registry_module
from flowrun.daemon.registry import RunnerRegistry, flowrun_home
from flowrun.daemon.state_dir import MAX_COMPONENT_NAME, RunnerInfo, StateDir, shell_path
from flowrun.errors import RunnerError, SpecError, SpecFileError
from flowrun.secrets import Redactor, mask_text, secret_values
from flowrun.spec import graph
from flowrun.spec.loader import load_spec, render_yaml
from flowrun.supervision.output import Console, EventLog
from flowrun.supervision.states import ComponentState
from test_spec_support import VALID, issues_of, load_text, write

FLOWRUN = Path(sys.executable).parent / "flowrun"
NOT_UTF8 = os.fsdecode(b"pass\xffword")  # as Python reads `MY_KEY=$'pass\xffword'`
JAPANESE = "日本語"


def _cli(args: list[str], cwd: Path, **environ: str) -> subprocess.CompletedProcess[bytes]:
    """The console script, bytes out: what a terminal of another encoding would get."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWRUN_", "FLOWCTL_"))}
    env.update(FLOWRUN_HOME=str(cwd / "home"), **environ)
    return subprocess.run(
        [str(FLOWRUN), *args], cwd=cwd, capture_output=True, timeout=60, env=env, check=False
    )


def _as_another_user(argv: list[str]) -> list[str]:
    """`argv` run without the right to read another user's files: as root, with
    CAP_DAC_OVERRIDE dropped (root then meets the modes of files, as users do)."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("as root, this needs util-linux setpriv to drop CAP_DAC_OVERRIDE")
    return [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", *argv]


def _named(name: str) -> str:
    return VALID.replace("  name: demo", f"  name: {name}")


# -- secrets whose bytes are not UTF-8 -------------------------------------------------------


def test_an_inherited_secret_that_is_not_utf8_is_masked_not_a_launch_failure() -> None:
    # The runner masks every secret-looking variable a component inherits; one of bytes that
    # are not UTF-8 raised UnicodeEncodeError at the launch of every component.
    environ = {"MY_API_KEY": NOT_UTF8, "PATH": "/bin"}
    redact = Redactor(secret_values(environ))
    assert redact(b"login pass\xffword ok\n") + redact.flush() == b"login *** ok\n"
    assert mask_text(f"said {NOT_UTF8}!", [NOT_UTF8]) == "said ***!"


def test_a_variable_that_is_not_utf8_is_a_spec_issue_naming_it_not_its_value(
    tmp_path: Path,
) -> None:
    text = VALID.replace(
        "      inputs: [src]\n", '      inputs: [src]\n      env: {DSN: "db:${DB_PASSWORD}"}\n'
    )
    issues = issues_of(tmp_path, text, environ={"DB_PASSWORD": NOT_UTF8})
    assert issues == [
        "pipeline.yaml:15:18: spec.components.sink.env.DSN: variable DB_PASSWORD is not UTF-8 "
        "text (byte 0xff at offset 4); set it to UTF-8 text, e.g. convert it with iconv"
    ]


# -- spec and .env files as other editors save them ----------------------------------------


def test_a_latin1_spec_is_refused_at_the_line_and_column_of_its_first_such_byte(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_bytes(_named('"ü caf\xe9"').encode("latin-1"))
    with pytest.raises(SpecFileError) as refused:
        load_spec(path)
    assert str(refused.value) == (
        f"{path}:4:10: not UTF-8 text (byte 0xfc); save the spec file as UTF-8, e.g. "
        "iconv -f latin1 -t utf-8"
    )


def test_the_column_of_a_byte_that_is_not_utf8_counts_characters(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_bytes(_named('"ü cafX"').encode().replace(b"X", b"\xe9"))  # ü: 2 bytes, 1 column
    with pytest.raises(SpecFileError, match=r"pipeline\.yaml:4:15: not UTF-8 text \(byte 0xe9\)"):
        load_spec(path)


def test_a_utf16_spec_is_named_as_such_not_called_binary(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_bytes(VALID.encode("utf-16"))
    with pytest.raises(SpecFileError) as refused:
        load_spec(path)
    assert str(refused.value) == (
        f"{path}: UTF-16 text (it starts with a UTF-16 byte order mark); save the spec file "
        "as UTF-8, e.g. iconv -f utf-16 -t utf-8"
    )


def test_a_bom_crlf_spec_and_its_bom_crlf_dotenv_read_as_written(tmp_path: Path) -> None:
    spec = _named(f'"${{NAME}} {JAPANESE}"').replace(
        "      inputs: [src]\n",
        "      inputs: [src]\n"
        '      env: {A: "${A}", B: "${B}", C: "${C}", D: "${D}", E: "${E}", F: "$${F}"}\n',
    )
    (tmp_path / "pipeline.yaml").write_bytes(b"\xef\xbb\xbf" + spec.replace("\n", "\r\n").encode())
    (tmp_path / ".env").write_bytes(
        b"\xef\xbb\xbf# a comment\r\n"
        b"export NAME=p\xc3\xafpe\r\n"
        b'A="one\\ntwo \\"q\\" # kept"  # a comment\r\n'
        b"B='${not} \\n'\r\n"
        b"C=a=b#c # a comment\r\n"
        b"D=\r\n"
        b"  export   E = spaced  \r\n"
    )
    loaded = load_spec(tmp_path / "pipeline.yaml", environ={})
    assert loaded.name == f"pïpe {JAPANESE}"
    assert loaded.body.components["sink"].env == {
        "A": 'one\ntwo "q" # kept',
        "B": "${not} \\n",
        "C": "a=b#c",
        "D": "",
        "E": "spaced",
        "F": "${F}",
    }


def test_issues_of_a_bom_crlf_spec_are_placed_as_an_editor_shows_them(tmp_path: Path) -> None:
    text = VALID.replace("type: sink", "type: snk").replace("\n", "\r\n")
    (tmp_path / "pipeline.yaml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert issues_of(tmp_path, (tmp_path / "pipeline.yaml").read_text(encoding="utf-8-sig")) == [
        "pipeline.yaml:12:13: spec.components.sink.type: must be one of source, processor, "
        "sink, got 'snk' (did you mean 'sink'?)"
    ]


# -- NUL characters, names and paths at the limits -------------------------------------------


def test_a_nul_in_a_command_argument_or_a_path_is_a_spec_issue(tmp_path: Path) -> None:
    text = VALID.replace(
        "[python, -m, sink]",
        '[python, -m, "si\\0nk"]\n      working_dir: "a\\0b"\n      env_file: "e\\0f"',
    )
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:13:29: spec.components.sink.command[2]: a command argument cannot hold "
        "a NUL character (\\0): remove it",
        "pipeline.yaml:14:20: spec.components.sink.working_dir: a path cannot hold a NUL "
        "character (\\0): remove it",
        "pipeline.yaml:15:17: spec.components.sink.env_file: a path cannot hold a NUL "
        "character (\\0): remove it",
    ]


def test_a_command_path_too_long_for_the_kernel_is_a_warning(tmp_path: Path) -> None:
    program = "./" + "p" * 300
    loaded = load_text(tmp_path, VALID.replace("[python, -m, sink]", f"[{program}]"))
    [warning] = loaded.warnings
    assert (warning.path, warning.line) == ("spec.components.sink.command[0]", 13)
    assert warning.message == f"command {program!r} cannot be found (File name too long)"


def test_component_names_the_spec_allows_and_a_long_one_it_refuses(tmp_path: Path) -> None:
    longest = "L" + "o" * (MAX_COMPONENT_NAME - 2) + "g"
    allowed = (
        VALID.replace("    src:", "    9Lives_UP-case:")
        .replace("[src]", "[9Lives_UP-case]")
        .replace("    sink:", f"    {longest}:")
    )
    assert list(load_text(tmp_path, allowed).body.components) == ["9Lives_UP-case", longest]
    refused = allowed.replace(longest, longest + "x")
    assert issues_of(tmp_path, refused) == [
        f"pipeline.yaml:11:5: spec.components.{longest}x: component name 'L{'o' * 19}'... "
        "is 64 characters long: use letters, digits, '-' and '_' (at most 63, "
        "starting with a letter or digit)"
    ]


def test_the_state_directory_allows_for_the_longest_component_name() -> None:
    assert graph.COMPONENT_NAME_PATTERN.endswith(f"{{0,{MAX_COMPONENT_NAME - 1}}}$")


@pytest.mark.parametrize(
    "name", [f"pïpe {JAPANESE}", "-leading dash", "'quoted' $name", "2024", "x" * 300]
)
def test_pipeline_names_of_any_text_on_one_line(tmp_path: Path, name: str) -> None:
    assert load_text(tmp_path, _named(f'"{name}"')).name == name


@pytest.mark.parametrize(
    ("written", "got"),
    [('"a\\nb"', "'a\\nb'"), ('"   "', "'   '"), ('"tab\\there"', "'tab\\there'")],
)
def test_a_pipeline_name_on_several_lines_or_blank_is_refused(
    tmp_path: Path, written: str, got: str
) -> None:
    assert issues_of(tmp_path, _named(written)) == [
        "pipeline.yaml:4:9: metadata.name: a pipeline name is one line of text, not blank: no "
        f"line break, tab or other control character, got {got}"
    ]


# -- render into an output of another encoding ------------------------------------------------


def test_render_without_unicode_escapes_every_character_and_reads_back_the_same(
    tmp_path: Path,
) -> None:
    loaded = load_text(tmp_path, _named(f'"{JAPANESE} café"'))
    text = render_yaml(loaded, unicode=False)
    assert text.isascii()
    again = load_spec(write(tmp_path, text, "again.yaml"))
    assert (again.name, again.revision) == (loaded.name, loaded.revision)


def test_render_of_a_file_named_with_a_line_break_is_still_a_spec(tmp_path: Path) -> None:
    loaded = load_spec(write(tmp_path, VALID, "two\nlines.yaml"))
    assert render_yaml(loaded).startswith('# Effective spec of "two\\nlines.yaml": profile')
    assert yaml.safe_load(render_yaml(loaded))["metadata"]["name"] == "demo"


def test_cli_output_in_latin1_escapes_what_it_cannot_encode(tmp_path: Path) -> None:
    write(tmp_path, _named(f'"{JAPANESE}"'))
    validated = _cli(["validate", "pipeline.yaml"], tmp_path, PYTHONIOENCODING="latin-1")
    assert (validated.returncode, validated.stderr) == (0, b"")
    assert b"pipeline \\u65e5\\u672c\\u8a9e, 2 components" in validated.stdout
    rendered = _cli(["render", "pipeline.yaml"], tmp_path, PYTHONIOENCODING="latin-1")
    assert rendered.returncode == 0, rendered.stderr
    assert yaml.safe_load(rendered.stdout.decode("latin-1"))["metadata"]["name"] == JAPANESE


def test_cli_output_of_a_path_that_is_not_utf8_gives_its_bytes_back(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path) + b"/bad\xffbyte"
    os.mkdir(folder)
    write(Path(os.fsdecode(folder)), VALID)
    result = _cli(
        ["validate", os.fsdecode(folder + b"/pipeline.yaml")], tmp_path, PYTHONIOENCODING="utf-8"
    )
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.startswith(b"OK " + folder + b"/pipeline.yaml: pipeline demo")


# -- paths the kernel refuses, state and registry folders of another user ---------------------


@pytest.mark.parametrize(("command", "code"), [("status", 1), ("health", 4), ("down", 1)])
def test_a_spec_path_too_long_is_one_line_not_a_traceback(
    tmp_path: Path, command: str, code: int
) -> None:
    name = "s" * 300 + ".yaml"
    result = _cli([command, name], tmp_path)
    assert result.returncode == code
    assert result.stderr.decode() == f"error: {name}: cannot be read (File name too long)\n"


def test_a_state_directory_too_deep_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    deep = tmp_path / "d"  # grown below past 4000 bytes: room for the spec, not its state
    while len(os.fsencode(deep)) < 4000:
        deep = deep / ("d" * 200)
    state = StateDir.for_spec(deep / "pipeline.yaml")
    with pytest.raises(RunnerError) as refused:
        state.ensure()
    assert f"the state directory {state.root} is too deep" in str(refused.value)
    assert "set FLOWRUN_STATE_DIR to a shorter folder" in str(refused.value)
    assert not (tmp_path / "d").exists()


def test_a_lock_that_cannot_be_read_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    state = StateDir(tmp_path / ("s" * 300))  # the kernel refuses the name: ENAMETOOLONG
    with pytest.raises(RunnerError, match="is too long; set FLOWRUN_STATE_DIR"):
        state.is_locked()
    denied = state.error(PermissionError(13, "Permission denied", str(state.lock_file)))
    assert str(denied) == (
        f"cannot use the state directory {state.root} (runner.lock: permission denied): "
        "another user (or sudo) ran this spec; run flowrun as that user, or set "
        "FLOWRUN_STATE_DIR to a folder of yours"
    )


@pytest.mark.parametrize(
    ("command", "code"), [("status", 1), ("health", 4), ("down", 1), ("up", 1), ("top", 1)]
)
def test_a_state_directory_of_another_user_is_one_line_not_a_traceback(
    tmp_path: Path, command: str, code: int
) -> None:
    # A `sudo flowrun up` earlier left the state directory to root, its lock mode 0600.
    write(tmp_path, VALID)
    state = StateDir.for_spec(tmp_path / "pipeline.yaml")
    state.ensure()
    for file in (state.lock_file, state.runner_file):
        file.write_text("")
        file.chmod(0)
    argv = _as_another_user([str(FLOWRUN), command, "pipeline.yaml"])
    if command == "up":
        argv.append("-d")
    result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == code
    assert result.stderr == (
        f"error: cannot use the state directory {state.root} (runner.lock: permission denied): "
        "another user (or sudo) ran this spec; run flowrun as that user, or set "
        "FLOWRUN_STATE_DIR to a folder of yours\n"
    )


@pytest.mark.parametrize(("name", "folder"), [("..yaml", "..yaml"), ("...yaml", "...yaml")])
def test_a_spec_whose_stem_is_a_dot_gets_a_folder_of_its_own(
    tmp_path: Path, name: str, folder: str
) -> None:
    assert StateDir.for_spec(tmp_path / name).root == tmp_path / ".flowrun" / folder


def test_no_home_at_all_leaves_runners_unrecorded_and_ps_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(registry_module.Path, "home", staticmethod(no_home))
    assert flowrun_home({}) is None
    registry = RunnerRegistry.from_environ({})
    info = RunnerInfo(1, "127.0.0.1:1", "token", 1.0, str(tmp_path / "p.yaml"), None)
    warning = registry.add(info, pipeline="p", state_dir=tmp_path)
    assert warning is not None and "not recorded for `flowrun ps`" in warning
    registry.remove(1)
    with pytest.raises(RunnerError, match="set FLOWRUN_HOME to a folder of yours"):
        registry.live()


def test_a_registry_folder_that_cannot_be_read_is_an_error_of_ps(tmp_path: Path) -> None:
    registry = RunnerRegistry(tmp_path / ("h" * 300) / "runners")
    with pytest.raises(RunnerError, match=r"cannot read the runners recorded in .*: File name"):
        registry.live()


# -- commands a message suggests, graph ids, closed pipes -------------------------------------


@pytest.mark.parametrize(
    "path",
    ["my specs/pipe line.yaml", "-dir/p.yaml", 'it\'s $HOME/"q".yaml', f"{JAPANESE}/p.yaml"],
)
def test_a_suggested_command_takes_the_path_as_one_argument(path: str) -> None:
    words = shlex.split(f"flowrun up {shell_path(path)}")
    assert len(words) == 3 and os.path.normpath(words[2]) == os.path.normpath(path)
    assert not words[2].startswith("-")


def test_stopped_status_suggests_a_command_that_can_be_pasted(tmp_path: Path) -> None:
    folder = tmp_path / "-my specs $x"
    folder.mkdir()
    write(folder, VALID, "pipe line.yaml")
    result = _cli(["status", "--", "-my specs $x/pipe line.yaml"], tmp_path)
    assert result.returncode == 3
    suggested = result.stderr.decode().rstrip().rsplit("start it with: ", 1)[1]
    assert shlex.split(suggested) == ["flowrun", "up", "./-my specs $x/pipe line.yaml"]


def test_a_component_named_end_does_not_end_the_mermaid_chart(tmp_path: Path) -> None:
    text = VALID.replace("    sink:", "    end:")
    loaded = load_text(tmp_path, text)
    drawn = mermaid(graph_of(loaded.name, loaded.body.components))
    assert "    src -->|Arrow Flight| end_\n" in drawn
    assert '    end_[("<b>end</b><br/>sink")]' in drawn


def test_a_pipe_whose_reader_left_is_seen_before_a_write_fails(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as stream:
        assert not reader_gone(stream)
        os.close(read_end)
        assert reader_gone(stream)
    with open(tmp_path / "file", "w") as regular:
        assert not reader_gone(regular)


def test_the_console_says_when_its_reader_left() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as stream:
        console = Console(stream, colour=False, names=["src"], lossless=True)
        console.lines("src", "a line nobody reads")
        console.close()
        assert console.reader_gone


def test_spec_error_lines_hold_no_secret_of_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    # A message quoting an interpolated value is masked: with a value of such bytes, the
    # masking itself raised.
    text = VALID.replace("127.0.0.1:9001", "${ENDPOINT_TOKEN}")
    with pytest.raises(SpecError) as refused:
        load_text(tmp_path, text, environ={"ENDPOINT_TOKEN": NOT_UTF8})
    assert "pass" not in str(refused.value) and "ENDPOINT_TOKEN is not UTF-8" in str(refused.value)


@pytest.mark.anyio
@pytest.mark.timeout(10)
async def test_a_working_dir_the_kernel_refuses_fails_the_component_with_its_reason(
    tmp_path: Path,
) -> None:
    too_long = "w" * 300  # a name past NAME_MAX: is_dir() raises instead of saying False
    async with supervising(tmp_path, {"src": supervised_component(working_dir=too_long)}) as rig:
        [result] = await rig.supervisor.start()
        assert rig.component("src").state is ComponentState.FAILED
        assert result.message == (
            f"component 'src': working_dir {tmp_path / too_long} cannot be used "
            "(File name too long)"
        )
        assert rig.spawn.launches == []


def test_the_runner_log_takes_a_path_that_is_not_utf8(tmp_path: Path) -> None:
    # The runner's first line names its spec: in a folder whose name is not UTF-8 it raised
    # UnicodeEncodeError, and the runner died before it started anything.
    log = EventLog(tmp_path / "runner.log", None)
    log("runner pid 1: " + os.fsdecode(b"/srv/caf\xe9/pipeline.yaml"))
    log.reopen()
    log("and after it reopened the file")
    log.close()
    lines = (tmp_path / "runner.log").read_bytes().splitlines()
    assert lines[0].endswith(b" runner pid 1: /srv/caf\xe9/pipeline.yaml")
    assert lines[1].endswith(b" and after it reopened the file")
