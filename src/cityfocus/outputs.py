"""The output contract: how cityfocus writes, so that it never loses or changes a user's file.

Every verb that writes goes through :class:`OutputFile` or :class:`OutputDir`:

- a file is written to a temporary file in its own folder and renamed into place, so a
  failed or interrupted command leaves no half-written file (a failed one leaves no folders
  it made either);
- a folder output is built under a temporary name and renamed into place; an existing folder
  is accepted only when it is empty, or (with ``force``) when everything in it was written by
  cityfocus (files its manifest lists unchanged, folders holding such files);
- an existing path is replaced only with ``force`` and only when cityfocus wrote it and
  nobody changed it since: each folder cityfocus writes in holds ``.cityfocus-manifest.json``,
  the names and SHA-256 of the files it wrote there (a file of that name cityfocus did not
  write is the user's: cityfocus neither trusts nor replaces it);
- the working directory, a folder above it, an input, or a folder holding an input is never
  an output;
- missing parent folders are created; every refusal or operating-system failure is one
  :class:`~cityfocus.errors.CityfocusError` line naming the option and the path.

Both classes check when they are made (so a command fails before any work) and again when
they write.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import takewhile
from pathlib import Path

from cityfocus.errors import CityfocusError
from cityfocus.ownership import (
    MANIFEST,
    TEMP_PREFIX,
    foreign_entry,
    foreign_manifest,
    read_manifest,
    sha256,
    usual_mode,
    write_manifest,
    written_by_cityfocus,
)


def _absolute(path: str | Path) -> Path:
    """``path`` made absolute with ``..`` and symlinked folders resolved, the last part kept
    as given (a symlink there is the thing we would replace, not its target)."""
    path = Path(path).expanduser()
    parent = path.parent.resolve() if str(path.parent) else Path.cwd()
    name = path.name
    if name in ("", ".", ".."):  # ".", "..", "/" and the like are folders, resolve fully
        return path.resolve()
    return parent / name


def _refuse(option: str, path: str | Path, problem: str) -> CityfocusError:
    return CityfocusError(f"{option} {path}: {problem}")


def _check_not_an_input(option: str, shown: str | Path, target: Path, inputs: Iterable[Path],
                        folder: bool) -> None:
    cwd = Path.cwd().resolve()
    if folder and (target == cwd or target in cwd.parents):
        raise _refuse(option, shown, "is the working directory or a folder above it; "
                      "give the name of a new folder")
    for given in inputs:
        source = Path(given).expanduser().resolve()
        if target == source:
            raise _refuse(option, shown, "is an input of this command; write elsewhere")
        if folder and target in source.parents:
            raise _refuse(option, shown, f"holds the input {given}; give the name of a new "
                          "folder")


def _check_parent(option: str, shown: str | Path, target: Path) -> None:
    """Every existing ancestor must be a folder we may write in."""
    for ancestor in target.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise _refuse(option, shown, f"{ancestor} is a file, not a folder")
            return


def _probe(option: str, shown: str | Path, target: Path) -> None:
    """Fail now, before any work, when the nearest existing folder of ``target`` refuses a
    new entry (read-only file system, no permission, a special file system)."""
    nearest = next(a for a in target.parents if a.exists())
    try:
        os.rmdir(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=nearest))
    except OSError as err:
        raise _refuse(option, shown, f"cannot write in {nearest}: {err.strerror}") from None


def _os_error(option: str, shown: str | Path, err: OSError) -> CityfocusError:
    reason = err.strerror or str(err)
    name = str(err.filename or "")
    where = "" if not name or name == str(shown) or TEMP_PREFIX in name else f" ({name})"
    return _refuse(option, shown, f"cannot write there: {reason}{where}")


@contextmanager
def _os_errors_refused(option: str, shown: str | Path) -> Iterator[None]:
    """Turn an operating-system failure (a name too long, no permission) into one line."""
    try:
        yield
    except OSError as err:
        raise _os_error(option, shown, err) from None


@contextmanager
def _aside(option: str, shown: str | Path, target: Path) -> Iterator[Path]:
    """A new temporary folder beside ``target`` (missing parents are made), removed at the
    end; when the body fails, the parents it made go too, so a failure leaves no trace."""
    made: list[Path] = []
    done = False
    try:
        made = list(takewhile(lambda folder: not folder.exists(), target.parents))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=target.parent))
        try:
            yield tmp
            done = True
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as err:
        raise _os_error(option, shown, err) from None
    finally:
        for folder in made if not done else ():  # innermost first; only while still empty
            try:
                folder.rmdir()
            except OSError:
                break


def check_location(path: str | Path, *, option: str, folder: bool,
                   inputs: Iterable[str | Path] = ()) -> Path:
    """Refuse an output location that is an input (or, for a folder, the working directory,
    a folder above it, or a folder holding an input), or lies under a file; return the
    absolute path."""
    with _os_errors_refused(option, path):
        target = _absolute(path)
        _check_not_an_input(option, path, target, [Path(p) for p in inputs], folder=folder)
        _check_parent(option, path, target)
    return target


class _Output:
    """What both outputs share: the path as given and made absolute, checked when made (so a
    command fails before any work) and again when written."""

    def __init__(self, path: str | Path, *, option: str = "--out", force: bool = False,
                 inputs: Iterable[str | Path] = (), suffixes: tuple[str, ...] = ()) -> None:
        self.shown, self.option, self.force = path, option, force
        self.inputs = [Path(p) for p in inputs]
        with _os_errors_refused(option, path):
            self.path = _absolute(path)
            if suffixes and self.path.suffix.lower() not in suffixes:
                raise _refuse(option, path, f"give a file name ending in "
                              f"{' or '.join(suffixes)}")
            self.check()
            _probe(option, path, self.path)

    def check(self) -> None:
        """Raise CityfocusError when writing the output now would break the contract."""
        with _os_errors_refused(self.option, self.shown):
            self._check()

    def _check(self) -> None:
        raise NotImplementedError


class OutputFile(_Output):
    """One file a command writes, checked now and written all-or-nothing later.

    Args:
        path: where the file goes (parents are created when missing).
        option: the option that named it, e.g. ``"--out"`` (used in error messages).
        force: replace an existing file, when cityfocus wrote it and it is unchanged since.
        inputs: the command's input paths; none of them may be the output.
        suffixes: accepted file name endings (lower case, e.g. ``(".csv", ".json")``).

    Raises:
        CityfocusError: the path is a folder, a special file, an input, an existing file
            without ``force`` or one cityfocus did not write, has a wrong suffix, or its folder
            holds a file named like the manifest that cityfocus did not write.
    """

    def _check(self) -> None:
        option, shown, path = self.option, self.shown, self.path
        if os.path.basename(str(shown)) in ("", ".", "..") or path.is_dir():  # "x/", "x/."
            raise _refuse(option, shown, "is a folder; give a file name")
        if path.name == MANIFEST:
            raise _refuse(option, shown, "is the name of cityfocus's own manifest; choose "
                          "another name")
        _check_not_an_input(option, shown, path, self.inputs, folder=False)
        _check_parent(option, shown, path)
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise _refuse(option, shown, "is not a regular file; cityfocus will not replace it")
        if foreign_manifest(path.parent):
            raise _refuse(option, shown, f"{path.parent / MANIFEST} was not written by "
                          "cityfocus, which would replace it; move it or write elsewhere")
        if path.exists():
            if not self.force:
                raise _refuse(option, shown, "exists; pass --force to replace it (only a file "
                              "cityfocus wrote can be replaced)")
            if not written_by_cityfocus(path):
                raise _refuse(option, shown, "exists and was not written by cityfocus (or was "
                              "changed since); cityfocus will not replace it, choose another "
                              "name")

    @contextmanager
    def build(self) -> Iterator[Path]:
        """Yield a temporary path in the same folder; on success it becomes the output."""
        self.check()
        folder = self.path.parent
        with _aside(self.option, self.shown, self.path) as tmp_dir:
            tmp = tmp_dir / self.path.name
            yield tmp
            self.check()
            files = read_manifest(folder)
            files[self.path.name] = sha256(tmp)
            os.replace(tmp, self.path)
            write_manifest(folder, files)

    def write(self, content: str | bytes | Callable[[Path], object]) -> Path:
        """Write text, bytes, or whatever ``content(tmp_path)`` writes; return the path."""
        with self.build() as tmp:
            if isinstance(content, str):
                tmp.write_text(content, encoding="utf-8")
            elif isinstance(content, bytes):
                tmp.write_bytes(content)
            else:
                content(tmp)
        return self.path


class OutputDir(_Output):
    """A folder a command writes, checked now and moved into place whole later.

    Args:
        path: the folder (created; parents too).
        option: the option that named it, e.g. ``"--out"``.
        force: replace an existing folder whose every file cityfocus wrote, unchanged since.
        inputs: the command's input paths; the folder may not be one of them or hold one.

    Raises:
        CityfocusError: the path is the working directory or above it, holds an input, is a
            file or named like the manifest, or exists holding anything (without ``force``) or
            anything cityfocus did not write.
    """

    def _check(self) -> None:
        option, shown, path = self.option, self.shown, self.path
        if path.name == MANIFEST:
            raise _refuse(option, shown, "is the name of cityfocus's own manifest; choose "
                          "another name")
        _check_not_an_input(option, shown, path, self.inputs, folder=True)
        _check_parent(option, shown, path)
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise _refuse(option, shown, "is a file; give the name of a new folder")
        if not path.exists() or not any(path.iterdir()):
            return
        foreign = foreign_entry(path)
        if foreign is not None:
            raise _refuse(option, shown, f"exists and holds {foreign.relative_to(path)}, which "
                          "cityfocus did not write (or was changed since); give the name of "
                          "a new folder")
        if not self.force:
            raise _refuse(option, shown, "holds an earlier cityfocus output; pass --force to "
                          "replace it, or give the name of a new folder")

    @contextmanager
    def build(self) -> Iterator[Path]:
        """Yield a temporary folder beside the output; on success it becomes the output, with
        a manifest of every file in it."""
        self.check()
        with _aside(self.option, self.shown, self.path) as tmp:
            usual_mode(tmp, folder=True)
            yield tmp
            write_manifest(tmp, {f.relative_to(tmp).as_posix(): sha256(f)
                                  for f in sorted(tmp.rglob("*")) if f.is_file()})
            self.check()
            self._swap(tmp)

    def write(self, files: Mapping[str, str | bytes]) -> Path:
        """Write ``{relative name: text or bytes}`` as the folder; return its path."""
        with self.build() as tmp:
            for name, content in files.items():
                target = tmp / name
                target.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(content, str):
                    target.write_text(content, encoding="utf-8")
                else:
                    target.write_bytes(content)
        return self.path

    def _swap(self, tmp: Path) -> None:
        """Put ``tmp`` at the output path. An existing (checked) folder is first moved aside;
        then only the files its manifest lists, unchanged, are removed, then its folders."""
        if not self.path.exists():
            os.rename(tmp, self.path)
            return
        old = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=self.path.parent))
        os.rmdir(old)
        os.rename(self.path, old)
        try:
            os.rename(tmp, self.path)
        except OSError:
            os.rename(old, self.path)  # the earlier output back under its own name
            raise
        listed = read_manifest(old)
        for entry in sorted(old.rglob("*"), reverse=True):
            relative = entry.relative_to(old).as_posix()
            if entry.is_dir() and not entry.is_symlink():
                if not any(entry.iterdir()):
                    entry.rmdir()
            elif entry.is_symlink() or not entry.is_file():
                continue  # appeared meanwhile: kept
            elif relative == MANIFEST or listed.get(relative) == sha256(entry):
                entry.unlink()
        if any(old.iterdir()):
            raise _refuse(self.option, self.shown, f"was written, but files that appeared in "
                          f"the earlier folder meanwhile were kept in {old}")
        old.rmdir()


def atomic_file(path: str | Path) -> OutputFile:
    """An :class:`OutputFile` for library code that replaces its own earlier output at
    ``path`` (checkpoints, benchmark results): ``with atomic_file(p).build() as tmp: ...``."""
    return OutputFile(path, option="output", force=True)


def read_for_update(path: str | Path, *, owns: Callable[[str], bool],
                    option: str = "output") -> str:
    """The text of a file cityfocus keeps in parts ("" when it does not exist yet), after
    checking it may change it: a regular file whose text ``owns`` recognises. Line endings
    are kept as they are (CRLF stays CRLF)."""
    with _os_errors_refused(option, path):
        target = _absolute(path)
        _check_parent(option, path, target)
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise _refuse(option, path, "is not a regular file; cityfocus will not replace it")
        if not target.exists():
            return ""
    try:
        with target.open(encoding="utf-8", newline="") as fh:
            old = fh.read()
    except (OSError, UnicodeDecodeError) as err:
        raise _refuse(option, path, f"cannot read it ({err})") from None
    if not owns(old):
        raise _refuse(option, path, "was not written by cityfocus; cityfocus will not change "
                      "it, choose another name")
    return old


def update_text(path: str | Path, update: Callable[[str], str], *, owns: Callable[[str], bool],
                option: str = "output") -> Path:
    """Rewrite a text file cityfocus keeps in parts (a results file of marked sections).

    ``update(old text)`` gives the new text ("" when the file is new); the file is replaced in
    one rename. An existing file is changed only when ``owns(text)`` says it holds cityfocus's
    parts (see :func:`read_for_update`); everything outside them is the caller's to keep.
    """
    new = update(read_for_update(path, owns=owns, option=option))
    target = _absolute(path)
    with _aside(option, path, target) as tmp_dir:
        tmp = tmp_dir / target.name
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write(new)
        os.replace(tmp, target)
    return target
