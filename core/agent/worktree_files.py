"""A worktree's files, reached without ever following a symlink out of it.

A test run, or a process it left behind, can swap any file or folder of the worktree for a
symlink at any moment, so checking a path and then opening it by name is a race that such a
process wins now and then. Here a path is walked one name at a time from a descriptor of
the worktree's root, held open for the worktree's life: each name is opened relative to its
folder's descriptor with O_NOFOLLOW, and reads and writes go through the descriptors that
were checked. Nothing is looked up by name twice.

Symlinks: one that stays inside the worktree is followed (its target walked the same way,
from the folder holding the link; an absolute target only when it names a place inside the
worktree); one that leads out is refused, and so is a chain of more than MAX_LINKS links (a
loop). `..` climbs back through the folders actually walked and never above the root.
`files()` follows no symlink at all, so each file is listed once, under its own name.

Writes never go into an existing file: a new file is written beside it and renamed over it,
so neither a symlink nor a hard link can carry an edit out. Hard links are not paths, though:
a file a test run hard-linked in from outside reads as what it is (without a sandbox such a
run can read that file itself anyway).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_LINKS = 40  # as Linux: more symlinks than this on one path is taken for a loop
MAX_DEPTH = 64  # folders deeper than this are not listed
_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a FIFO must not hang
_DIR = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


class PathRefused(ValueError):
    """A path that leaves the worktree, names git's own data, or loops."""


@dataclass
class Found:
    """What a path led to, with its descriptors; closed when the `locate` block ends."""

    fd: int
    mode: int
    rel: str  # its real path from the root, through no symlink ("" for the root itself)
    parent: int | None  # the folder holding it (None for the root)
    name: str

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.mode)

    def read_text(self, errors: str = "strict") -> str:
        """The file's text, with newlines translated as `Path.read_text` does."""
        os.lseek(self.fd, 0, os.SEEK_SET)
        with os.fdopen(os.dup(self.fd), encoding="utf-8", errors=errors) as stream:
            return stream.read()

    def read_bytes(self) -> bytes:
        os.lseek(self.fd, 0, os.SEEK_SET)
        with os.fdopen(os.dup(self.fd), "rb") as stream:
            return stream.read()

    def replace_text(self, text: str) -> None:
        """Write `text` as a new file beside this one and rename it over this one."""
        if self.parent is None:
            raise IsADirectoryError(errno.EISDIR, "the root is a folder")
        _write_beside(self.parent, self.name, text.encode("utf-8"), stat.S_IMODE(self.mode))


class WorktreeFiles:
    """The files under `root`; `close()` releases the root's descriptor."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._real_root = str(self.root.resolve())
        self._fd = os.open(self.root, _DIR)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @contextlib.contextmanager
    def locate(self, path: str, follow: bool = True) -> Iterator[Found | None]:
        """What `path` leads to, or None when nothing is there; PathRefused when it leaves.

        With `follow=False` any symlink on the way is refused as leading outside.
        """
        opened: list[int] = []
        try:
            yield self._walk(path, follow, opened)
        finally:
            for fd in opened:
                os.close(fd)

    def files(self) -> list[str]:
        """Every regular file, root-relative and sorted; symlinks and `.git` entries left out."""
        found: list[str] = []
        self._list(os.dup(self._fd), "", found, 0)
        return sorted(found)

    def write_new(self, path: str, data: bytes) -> None:
        """`data` as the file at `path` (keeping the mode of a file there), folders made as
        needed; no symlink is followed."""
        with self._folder_of(path, make=True) as (parent, name):
            try:
                there = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
            except FileNotFoundError:
                there = 0
            _write_beside(parent, name, data, stat.S_IMODE(there) if stat.S_ISREG(there) else 0o644)

    def delete(self, path: str) -> None:
        """Remove the file or link at `path` if there is one; no symlink is followed."""
        with contextlib.suppress(FileNotFoundError), self._folder_of(path, make=False) as (parent, name):
            os.unlink(name, dir_fd=parent)

    # -- the walk ----------------------------------------------------------------------
    def _walk(self, path: str, follow: bool, opened: list[int]) -> Found | None:
        if not path or path.startswith(("/", "~")) or "\x00" in path:
            raise PathRefused(f"refused: {path!r} is not a path inside the repository")
        folders: list[tuple[int, str]] = [(_keep(opened, os.dup(self._fd)), "")]
        todo = list(reversed(path.split("/")))
        links = 0
        while todo:
            part = todo.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if len(folders) == 1:
                    raise PathRefused(f"refused: {path!r} leads outside the repository")
                folders.pop()
                continue
            if len(folders) == 1 and part == ".git":
                raise PathRefused(f"refused: {path!r} is git's own data")
            parent = folders[-1][0]
            try:
                fd = _keep(opened, os.open(part, _OPEN, dir_fd=parent))
            except FileNotFoundError:
                return None
            except OSError as exc:
                if exc.errno != errno.ELOOP:  # O_NOFOLLOW met a symlink
                    raise
                if not follow:
                    raise PathRefused(f"refused: {path!r} leads outside the repository") from None
                links += 1
                if links > MAX_LINKS:
                    raise PathRefused(
                        f"refused: {path!r} goes through more than {MAX_LINKS} symbolic links (a loop?)"
                    ) from None
                todo.extend(reversed(self._link_parts(path, part, parent, folders)))
                continue
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                folders.append((fd, part))
            elif todo and any(p not in ("", ".") for p in todo):
                return None  # a file where a folder should be: nothing is there
            else:
                names = [name for _, name in folders[1:]] + [part]
                return Found(fd, mode, "/".join(names), parent, part)
        fd, name = folders[-1]
        parent_fd = folders[-2][0] if len(folders) > 1 else None
        rel = "/".join(name for _, name in folders[1:])
        return Found(fd, os.fstat(fd).st_mode, rel, parent_fd, name)

    def _link_parts(self, path: str, part: str, parent: int, folders: list[tuple[int, str]]) -> list[str]:
        """The names a symlink stands for, from the folder holding it (the root, if absolute)."""
        try:
            target = os.readlink(part, dir_fd=parent)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.ENOENT):  # swapped back meanwhile: look again
                return [part]
            raise
        if not target.startswith("/"):
            return target.split("/")
        if target != self._real_root and not target.startswith(self._real_root + "/"):
            raise PathRefused(f"refused: {path!r} leads outside the repository")
        del folders[1:]  # absolute, yet inside: walk it from the root
        return target[len(self._real_root) :].split("/")

    @contextlib.contextmanager
    def _folder_of(self, path: str, make: bool) -> Iterator[tuple[int, str]]:
        """(descriptor of the folder holding `path`, its last name); FileNotFoundError when a
        folder on the way is missing and `make` is false."""
        *folders, name = [p for p in path.split("/") if p not in ("", ".")] or [""]
        if not name or ".." in folders or name == ".." or (not folders and name == ".git"):
            raise PathRefused(f"refused: {path!r} is not a path inside the repository")
        fd = os.dup(self._fd)
        try:
            for part in folders:
                if make:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, dir_fd=fd)
                try:
                    inner = os.open(part, _DIR, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise PathRefused(f"refused: {path!r} leads outside the repository") from None
                    raise
                os.close(fd)
                fd = inner
            yield fd, name
        finally:
            os.close(fd)

    def _list(self, fd: int, prefix: str, found: list[str], depth: int) -> None:
        try:
            with os.scandir(fd) as entries:
                for entry in entries:
                    if entry.name == ".git":
                        continue
                    if entry.is_file(follow_symlinks=False):
                        found.append(prefix + entry.name)
                    elif entry.is_dir(follow_symlinks=False) and depth < MAX_DEPTH:
                        try:
                            inner = os.open(entry.name, _DIR, dir_fd=fd)
                        except OSError:  # gone or swapped for a symlink since it was listed
                            continue
                        self._list(inner, f"{prefix}{entry.name}/", found, depth + 1)
        finally:
            os.close(fd)


def _keep(opened: list[int], fd: int) -> int:
    opened.append(fd)
    return fd


def _write_beside(folder: int, name: str, data: bytes, mode: int) -> None:
    """`data` into a new file in `folder`, then renamed to `name` (replacing what is there)."""
    temporary = f".{name}.{secrets.token_hex(6)}.agentpref"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o600, dir_fd=folder)
    try:
        with os.fdopen(fd, "wb") as stream:
            os.fchmod(stream.fileno(), mode)
            stream.write(data)
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=folder)
        raise
