"""The output contract (cityfocus.outputs): whatever path a user gives, a user's file is never
lost or changed, no temporary entry is left, and a refusal is one line naming option and path."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityfocus.errors import CityfocusError
from cityfocus.outputs import (
    MANIFEST,
    OutputDir,
    OutputFile,
    atomic_file,
    check_location,
    read_manifest,
    sha256,
    update_text,
)

TEMP = ".cityfocus-tmp-"
FILE_CONTENT = b"zone,units\nA,3\n"
DIR_CONTENT: dict[str, str | bytes] = {"result.txt": "done\n", "figs/plot.png": b"\x89PNG.."}


# ---------------------------------------------------------------- sandbox and its snapshot

def make_sandbox(root: Path) -> Path:
    """A user's project with an earlier cityfocus file and folder, a file cityfocus wrote and
    the user edited since (``edited.csv``, now the user's), and a user file named like the
    manifest; returns the folder to work in (``root/work``). Symlinks: ``work/link_file``
    -> ``user.csv``, ``work/link_dir`` -> ``userdir``, ``work/dangling`` -> nothing."""
    files = {
        "data/input.csv": b"zone,demand\nA,1\n", "data/notes.txt": b"keep me\r\n",
        "user.csv": b"mine\n", "userdir/a.txt": b"a", "userdir/sub/b.bin": b"\x00\x01",
        f"userdir/sub/{MANIFEST}": b"the user's own file of that name\n",
        "work/local.txt": b"local", "work/nested/deep/x.txt": b"deep",
    }
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    (root / "emptydir").mkdir()
    OutputFile(root / "earlier.csv").write("old output\n")
    OutputFile(root / "edited.csv").write("old output\n")
    (root / "edited.csv").write_text("old output, corrected by hand\n")
    OutputDir(root / "report").write({"summary.txt": "old", "figs/a.png": b"png"})
    (root / "work/link_file").symlink_to("../user.csv")
    (root / "work/link_dir").symlink_to("../userdir")
    (root / "work/dangling").symlink_to("../missing.csv")
    return root / "work"


def snapshot(root: Path) -> dict[str, tuple]:
    """``{relative path: ("dir",) | ("file", bytes) | ("link", target) | ("special",)}``
    of the whole tree."""
    tree: dict[str, tuple] = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                tree[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(mode):
                tree[rel] = ("dir",)
            elif stat.S_ISREG(mode):
                tree[rel] = ("file", path.read_bytes())
            else:
                tree[rel] = ("special",)
    return tree


def cityfocus_owned(root: Path) -> set[str]:
    """cityfocus's manifests, and the files they list unchanged: what cityfocus may replace
    or remove."""
    owned = set()
    for manifest in root.rglob(MANIFEST):
        try:
            if json.loads(manifest.read_text()).get("written_by") != "cityfocus":
                continue
        except ValueError:
            continue
        owned.add(manifest.relative_to(root).as_posix())
        for name, digest in read_manifest(manifest.parent).items():
            path = manifest.parent / name
            if path.is_file() and not path.is_symlink() and sha256(path) == digest:
                owned.add(path.relative_to(root).as_posix())
    return owned


def assert_user_files_kept(root: Path, before: dict[str, tuple], owned: set[str]) -> None:
    """Every entry in ``before`` that cityfocus does not own is still there, unchanged (a
    user's folder may have been an empty one, now cityfocus's), and no temporary is left."""
    after = snapshot(root)
    for rel, entry in before.items():
        if rel in owned:
            continue
        if entry[0] == "dir":
            assert after.get(rel) == ("dir",), f"user folder {rel} is gone"
        else:
            assert after.get(rel) == entry, f"user file {rel} was changed or removed"
    leftovers = [rel for rel in after if Path(rel).name.startswith(TEMP)]
    assert not leftovers, f"temporary entries left behind: {leftovers}"


def assert_one_line(err: pytest.ExceptionInfo | CityfocusError, shown: str | Path,
                    option: str = "--out") -> str:
    """The refusal's message, checked to be one line starting with the option and path."""
    message = str(err.value if isinstance(err, pytest.ExceptionInfo) else err)
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(f"{option} {shown}:"), message
    return message


# ---------------------------------------------------------------- generated output paths

PLACES = ["", "./", "../", "{root}/", "{root}/work/", "nested/../", "link_dir/../"]
NAMES = [
    "new.csv", "newdir", "newdir/deep/out.csv", "local.txt", "nested", "nested/deep",
    "nested/deep/x.txt", "user.csv", "earlier.csv", "edited.csv", "report", "report/summary.txt",
    "report/figs", "userdir", "userdir/a.txt", "userdir/sub", "link_dir/sub/new.csv",
    "emptydir", "data", "data/input.csv", "data/notes.txt", "work", MANIFEST,
    f"report/{MANIFEST}", "link_file", "link_dir",
    "link_dir/new.csv", "link_dir/a.txt", "dangling", "user.csv/x", "earlier.csv/x.csv",
    "data/input.csv/x", "a" * 300, "a" * 300 + "/x.csv", ".", "..",
]
ENDINGS = ["", "/", "/.", "/.."]
SPECIAL = ["", ".", "..", "/", "/proc", "/proc/cityfocus-x.csv", "/proc/self/cityfocus/x.csv",
           "/sys/cityfocus-x", "/sys/kernel/cityfocus-x.csv", "/dev/null"]

paths = st.one_of(
    st.builds(lambda place, name, end: place + name + end, st.sampled_from(PLACES),
              st.sampled_from(NAMES), st.sampled_from(ENDINGS)),
    st.sampled_from(SPECIAL),
)
MODES = [("file", False), ("file", True), ("dir", False), ("dir", True)]
_sandboxes = count()
_untouched: dict[Path, Path] = {}  # test's tmp_path -> a sandbox no attempt has changed


def sandbox_in(base: Path) -> Path:
    """A fresh sandbox under ``base``, or the last one when nothing was written in it (a
    refusal changes nothing, which the test checks: building anew is the slow part)."""
    root = _untouched.pop(base, None)
    if root is None:
        root = base / f"sandbox{next(_sandboxes)}"
        root.mkdir()
        make_sandbox(root)
    return root


def attempt(shown: str, kind: str, force: bool, inputs: list[str]) -> Path | None:
    """Write ``shown`` as a command would; None when refused (checking the refusal)."""
    try:
        if kind == "file":
            return OutputFile(shown, force=force, inputs=inputs).write(FILE_CONTENT)
        return OutputDir(shown, force=force, inputs=inputs).write(DIR_CONTENT)
    except CityfocusError as err:
        assert_one_line(err, shown)
        return None


def assert_written(root: Path, shown: str, kind: str, written: Path) -> None:
    assert root in written.parents, f"{shown} was written outside the sandbox: {written}"
    if os.path.lexists(shown):  # the path as given leads to what was written
        assert os.path.samefile(shown, written)
    if kind == "file":
        assert written.read_bytes() == FILE_CONTENT
        assert read_manifest(written.parent)[written.name] == sha256(written)
        return
    listed = read_manifest(written)
    assert set(listed) == set(DIR_CONTENT)
    assert all(sha256(written / name) == digest for name, digest in listed.items())
    assert {p.relative_to(written).as_posix() for p in written.rglob("*")} == {
        MANIFEST, "result.txt", "figs", "figs/plot.png"}


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(template=paths, absolute_input=st.booleans())
def test_any_output_path_keeps_user_files(tmp_path, monkeypatch, template, absolute_input):
    for kind, force in MODES:
        root = sandbox_in(tmp_path)
        monkeypatch.chdir(root / "work")
        shown = template.format(root=root)
        inputs = [str(root / "data/input.csv") if absolute_input else "../data/input.csv"]
        before, owned = snapshot(root), cityfocus_owned(root)
        written = attempt(shown, kind, force, inputs)
        assert_user_files_kept(root, before, owned)
        if written is None:
            assert snapshot(root) == before, f"refused {shown}, yet changed something"
            _untouched[tmp_path] = root
        else:
            assert_written(root, shown, kind, written)
            monkeypatch.chdir(tmp_path)
            shutil.rmtree(root)


# ---------------------------------------------------------------- the rules, one by one

@pytest.fixture
def work(tmp_path, monkeypatch) -> Path:
    """A sandbox (see make_sandbox) with the working directory in ``work/``."""
    monkeypatch.chdir(make_sandbox(tmp_path))
    return tmp_path


def test_existing_file_without_force_is_refused(work):
    for shown in ("../user.csv", "../earlier.csv"):
        before = snapshot(work)
        with pytest.raises(CityfocusError) as err:
            OutputFile(shown)
        assert "pass --force" in assert_one_line(err, shown)
        assert snapshot(work) == before


def test_force_replaces_a_file_cityfocus_wrote(work):
    OutputFile("out.csv").write("first\n")
    OutputFile("out.csv", force=True).write("second\n")
    assert Path("out.csv").read_text() == "second\n"
    assert read_manifest(Path.cwd()) == {"out.csv": sha256(Path("out.csv"))}


@pytest.mark.parametrize("shown", ["out.csv", "../user.csv"])
def test_force_refuses_a_file_not_written_by_cityfocus(work, shown):
    if shown == "out.csv":  # cityfocus wrote it, then the user edited it
        OutputFile(shown).write("cityfocus\n")
        Path(shown).write_text("edited by hand\n")
    before = snapshot(work)
    with pytest.raises(CityfocusError) as err:
        OutputFile(shown, force=True)
    assert "not written by cityfocus" in assert_one_line(err, shown)
    assert snapshot(work) == before


def test_atomic_file_replaces_its_own_output_only(work):
    atomic_file("state.json").write("1")
    atomic_file("state.json").write("2")
    assert Path("state.json").read_text() == "2"
    with pytest.raises(CityfocusError) as err:
        atomic_file("local.txt")
    assert_one_line(err, "local.txt", option="output")
    assert Path("local.txt").read_text() == "local"


def _add_user_file(folder: Path) -> None:
    (folder / "figs/mine.txt").write_text("mine")


def _edit_listed_file(folder: Path) -> None:
    (folder / "summary.txt").write_text("edited")


def _add_empty_folder(folder: Path) -> None:
    (folder / "drafts").mkdir()


def _add_symlink(folder: Path) -> None:
    (folder / "link").symlink_to("../user.csv")


def _add_socket(folder: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "sock"))
    sock.close()


def _replace_manifest(folder: Path) -> None:
    (folder / MANIFEST).write_text('{"files": {"summary.txt": "x"}}\n')


@pytest.mark.parametrize("spoil", [_add_user_file, _edit_listed_file, _add_empty_folder,
                                   _add_symlink, _add_socket, _replace_manifest])
def test_earlier_folder_with_anything_foreign_is_refused_with_force(work, spoil):
    spoil(work / "report")
    before = snapshot(work)
    with pytest.raises(CityfocusError) as err:
        OutputDir("../report", force=True)
    assert "cityfocus did not write" in assert_one_line(err, "../report")
    assert snapshot(work) == before


def test_a_user_file_named_like_the_manifest_is_not_replaced(work):
    (work / "emptydir" / MANIFEST).write_text("my own notes\n")
    before = snapshot(work)
    for make, shown in [(OutputDir, "../emptydir"), (OutputFile, "../emptydir/new.csv")]:
        with pytest.raises(CityfocusError) as err:
            make(shown, force=True)
        assert MANIFEST in assert_one_line(err, shown)
    assert snapshot(work) == before


def test_empty_existing_folder_is_accepted(work):
    OutputDir("../emptydir").write(DIR_CONTENT)
    assert (work / "emptydir/result.txt").read_text() == "done\n"


def test_earlier_folder_needs_force_then_is_replaced(work):
    with pytest.raises(CityfocusError) as err:
        OutputDir("../report")
    assert "pass --force" in assert_one_line(err, "../report")
    OutputDir("../report", force=True).write({"new.txt": "new"})
    assert sorted(p.name for p in (work / "report").iterdir()) == [MANIFEST, "new.txt"]


def test_replacing_removes_only_the_files_listed(work):
    """A user file appearing in the earlier folder after the last check is kept (the race
    the final clean-up guards against), and the command says where."""
    out = OutputDir("../report", force=True)
    out.check = lambda: None  # type: ignore[method-assign]  # open the race window
    with pytest.raises(CityfocusError) as err:
        with out.build() as tmp:
            (tmp / "new.txt").write_text("new")
            (work / "report/late.txt").write_text("user's, arrived late")
    assert "were kept in" in assert_one_line(err, "../report")
    kept = [p for p in work.glob(f"{TEMP}*/*")]
    assert [p.name for p in kept] == ["late.txt"]
    assert kept[0].read_text() == "user's, arrived late"
    assert sorted(p.name for p in (work / "report").iterdir()) == [MANIFEST, "new.txt"]


class Boom(Exception):
    pass


@pytest.mark.parametrize("make", [
    lambda: OutputFile("../earlier.csv", force=True), lambda: OutputFile("new/deep/x.csv"),
    lambda: OutputDir("../report", force=True), lambda: OutputDir("new/deep/out"),
])
def test_failure_inside_build_leaves_no_trace(work, make):
    before = snapshot(work)
    out = make()
    with pytest.raises(Boom):
        with out.build() as tmp:
            (tmp / "part.txt" if tmp.is_dir() else tmp).write_text("half")
            raise Boom
    assert snapshot(work) == before  # no temporary entry, no new folder, earlier output intact


@pytest.mark.parametrize("shown, problem", [
    (".", "working directory"), ("..", "working directory"), ("../data", "holds the input"),
    ("../data/input.csv", "input of this command"), ("../user.csv/x", "is a file"),
    (MANIFEST, "manifest"), ("link_dir", "is a file"), ("../user.csv", "is a file"),
])
def test_refused_folders(work, shown, problem):
    with pytest.raises(CityfocusError) as err:
        OutputDir(shown, force=True, inputs=["../data/input.csv"])
    assert problem in assert_one_line(err, shown)


@pytest.mark.parametrize("shown, problem", [
    ("../data/input.csv", "input of this command"), ("new/", "is a folder"),
    ("new/.", "is a folder"), ("nested", "is a folder"), ("link_file", "not a regular file"),
    ("dangling", "not a regular file"), (MANIFEST, "manifest"), ("../user.csv/x", "is a file"),
    ("a" * 300 + ".csv", "too long"), ("/dev/null", "not a regular file"),
    ("../userdir/sub/new.csv", "not written by cityfocus"),  # it would replace the manifest
])
def test_refused_files(work, shown, problem):
    with pytest.raises(CityfocusError) as err:
        OutputFile(shown, force=True, inputs=["../data/input.csv"])
    assert problem in assert_one_line(err, shown)


def test_file_name_ending_is_checked(work):
    with pytest.raises(CityfocusError) as err:
        OutputFile("out.txt", option="--json", suffixes=(".json",))
    assert "ending in .json" in assert_one_line(err, "out.txt", option="--json")


@pytest.mark.parametrize("shown, kind", [
    ("/proc/cityfocus-test.csv", OutputFile), ("/proc/self/cityfocus/x.csv", OutputFile),
    ("/proc/cityfocus-test", OutputDir), ("/sys/cityfocus-test.csv", OutputFile),
    ("/sys/kernel/cityfocus/out", OutputDir),
])
def test_special_file_systems_refused_before_any_work(work, shown, kind):
    with pytest.raises(CityfocusError) as err:
        kind(shown)  # the constructor, i.e. before the command does anything
    assert "cannot write in" in assert_one_line(err, shown)


def test_read_only_file_system_refused_before_any_work(tmp_path):
    mount = tmp_path / "ro"
    mount.mkdir()
    tmpfs = ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)]
    if shutil.which("mount") is None or subprocess.run(tmpfs, capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        OutputFile(mount / "earlier.csv").write("old")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        for make, shown in [(OutputFile, mount / "earlier.csv"), (OutputFile, mount / "a/b.csv"),
                            (OutputDir, mount / "out")]:
            with pytest.raises(CityfocusError) as err:
                make(shown, force=True)
            assert "Read-only file system" in assert_one_line(err, shown)
        assert (mount / "earlier.csv").read_text() == "old"
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_check_location(work):
    assert check_location("new/out", option="--state", folder=True) == Path.cwd() / "new/out"
    for shown, folder in [(".", True), ("../data/input.csv", False), ("../user.csv/x", False)]:
        with pytest.raises(CityfocusError) as err:
            check_location(shown, option="--state", folder=folder,
                           inputs=["../data/input.csv"])
        assert_one_line(err, shown, option="--state")


# ---------------------------------------------------------------- update_text

START, END = "<!-- s:start -->", "<!-- s:end -->"


def owns(text: str) -> bool:
    return START in text


def replace_body(text: str) -> str:
    if START not in text:
        return f"{text}{START}\nnew\n{END}\n"
    head, rest = text.split(START, 1)
    return f"{head}{START}\nnew\n{END}{rest.split(END, 1)[1]}"


def test_update_text_refuses_a_file_without_markers(work):
    before = snapshot(work)
    with pytest.raises(CityfocusError) as err:
        update_text("../data/notes.txt", replace_body, owns=owns, option="--results")
    assert "not written by cityfocus" in assert_one_line(err, "../data/notes.txt", "--results")
    assert snapshot(work) == before


@pytest.mark.parametrize("shown", ["link_file", "nested"])
def test_update_text_refuses_what_is_not_a_regular_file(work, shown):
    with pytest.raises(CityfocusError) as err:
        update_text(shown, replace_body, owns=lambda text: True)
    assert_one_line(err, shown, option="output")


def test_update_text_keeps_everything_outside_its_section(work):
    head = b"# Results\r\n\r\nhand-written \xc3\xa9 notes\r\n"
    tail = b"\r\nmore by hand\rlone CR\n"
    path = Path("RESULTS.md")
    path.write_bytes(head + f"{START}\r\nold\r\n{END}".encode() + tail)
    update_text(path, replace_body, owns=owns)
    assert path.read_bytes() == head + f"{START}\nnew\n{END}".encode() + tail
    update_text("new/RESULTS.md", replace_body, owns=owns)
    assert Path("new/RESULTS.md").read_text() == f"{START}\nnew\n{END}\n"
    assert not [p for p in work.rglob(f"{TEMP}*")]


def test_failed_update_leaves_no_trace(work):
    def fail(text: str) -> str:
        raise Boom

    before = snapshot(work)
    with pytest.raises(Boom):
        update_text("new/deep/RESULTS.md", fail, owns=owns)
    assert snapshot(work) == before

