"""safeio: what dbbench reads (regular files, bounded, never blocking) and where it writes
(absent or regular targets only, whole, nothing created or replaced that is not a file)."""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from pathlib import Path

import pytest

from dbbench import safeio
from dbbench.safeio import FileProblem, read_bytes, read_text, write_text
from tests.special_files import (
    REFUSED_TARGETS,
    block,
    dangling,
    directory,
    fifo,
    huge,
    link_to,
    loop,
    null,
    regular,
    sized,
    socket_node,
    tmpfs,
    zero,
)

LIMIT = 1024


READS = [
    # (case, make the path, what read_bytes gives: bytes, or the message's words)
    ("regular file", regular, b"content\n"),
    ("symlink to a regular file", link_to(regular), b"content\n"),
    ("empty file", sized(0), b""),
    ("exactly the limit", sized(LIMIT), b"x" * LIMIT),
    ("one byte over the limit", sized(LIMIT + 1), "is 1 KiB; dbbench reads at most 1 KiB from"),
    ("huge sparse file", huge, "is 10 GiB; dbbench reads at most 1 KiB from a test file"),
    ("missing", lambda tmp: tmp / "missing", "no such file"),
    ("under a file", lambda tmp: regular(tmp) / "x", "a part of its path is not a directory"),
    ("directory", directory, "is a directory, not a regular file; dbbench reads only"),
    ("FIFO", fifo, "is a FIFO (named pipe), not a regular file"),
    ("character device (/dev/zero's)", zero, "is a character device, not a regular file"),
    ("the real /dev/zero", lambda tmp: Path("/dev/zero"), "is a character device"),
    ("block device", block, "is a block device, not a regular file"),
    ("socket", socket_node, "is a socket, not a regular file"),
    ("symlink to a device", link_to(zero), "is a character device, not a regular file"),
    ("symlink to a FIFO", link_to(fifo), "is a FIFO (named pipe)"),
    ("dangling symlink", dangling, "no such file"),
    ("symlink loop", loop, "cannot read it (Too many levels of symbolic links)"),
    # regular, its size 0, more in it: read to the limit and refused, never read whole
    ("/proc file that says it is empty", lambda tmp: Path("/proc/self/maps"), "it grew as"),
]


def _read_soon(path: Path, limit: int = LIMIT) -> bytes | FileProblem:
    """read_bytes in a thread: a read that blocks fails the test instead of hanging it."""
    outcome: list[bytes | FileProblem] = []

    def read() -> None:
        try:
            outcome.append(read_bytes(path, limit=limit, what="a test file"))
        except FileProblem as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=30)
    if reader.is_alive():  # unblock it, then fail
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"reading {path} blocked")
    return outcome[0]


@pytest.mark.parametrize(("make", "expected"), [c[1:] for c in READS], ids=[c[0] for c in READS])
def test_reads_regular_files_only_within_the_limit_and_never_blocks(tmp_path, make, expected):
    path = make(tmp_path)
    before = os.lstat(path).st_mode if os.path.lexists(path) else None
    outcome = _read_soon(path)
    if isinstance(expected, bytes):
        assert outcome == expected
    else:
        assert isinstance(outcome, FileProblem), outcome
        message = str(outcome)
        assert message.startswith(f"{path}: ") and expected in message
        assert "\n" not in message
    if before is not None:
        assert os.lstat(path).st_mode == before  # nothing read was changed


def test_read_text_is_utf_8_or_says_where_it_is_not(tmp_path):
    (tmp_path / "t").write_bytes("é\n".encode())
    assert read_text(tmp_path / "t", limit=LIMIT) == "é\n"
    (tmp_path / "t").write_bytes(b"ok\n\xff")
    with pytest.raises(FileProblem, match=r"t: not UTF-8 text \(invalid start byte at byte 3\)"):
        read_text(tmp_path / "t", limit=LIMIT)


def test_sizes_read_as_people_say_them():
    table = [(0, "0 bytes"), (1023, "1023 bytes"), (1024, "1 KiB"), (1536, "1.5 KiB")]
    table += [(safeio.MiB, "1 MiB"), (64 * safeio.MiB, "64 MiB"), (10 * 1024**3, "10 GiB")]
    table += [(3 * 1024**5, "3072 TiB")]
    assert [safeio.size_text(size) for size, _ in table] == [text for _, text in table]


def test_a_problem_survives_a_trip_to_another_process():
    import pickle

    problem = pickle.loads(pickle.dumps(FileProblem("/x", "is a socket", "--output")))
    assert (str(problem), problem.reason, problem.label) == (
        "--output = '/x': is a socket",
        "is a socket",
        "--output",
    )


def _mode(path: Path) -> int | None:
    return os.lstat(path).st_mode if os.path.lexists(path) else None


WRITE_REFUSALS = [*REFUSED_TARGETS, ("directory", directory, "is a directory, not a regular file")]


@pytest.mark.parametrize(
    ("make", "expected"), [c[1:] for c in WRITE_REFUSALS], ids=[c[0] for c in WRITE_REFUSALS]
)
def test_writes_replace_nothing_but_a_regular_file(tmp_path, make, expected):
    target = make(tmp_path)
    before = _mode(target)
    linked = os.path.realpath(target)
    linked_before = _mode(Path(linked)) if os.path.lexists(linked) else None
    listing = sorted(os.listdir(tmp_path))
    with pytest.raises(FileProblem) as caught:
        write_text(target, "new\n", what="the result file", label="--output")
    message = str(caught.value)
    assert message.startswith(f"--output = '{target}': ") and expected in message
    assert "\n" not in message
    assert _mode(target) == before  # a device is still that device, a link that link
    if linked_before is not None:
        assert _mode(Path(linked)) == linked_before
    if stat.S_ISLNK(before or 0) and os.path.isfile(linked):
        assert Path(linked).read_text() == "content\n"  # not written through either
    assert sorted(os.listdir(tmp_path)) == listing  # no temporary left, no directory made


def test_the_real_dev_null_is_refused_and_stays_a_device():
    with pytest.raises(FileProblem, match="/dev/null: is a character device"):
        write_text("/dev/null", "x", what="the result file")
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


@pytest.mark.parametrize("existing", [None, "old\n"], ids=["absent", "regular file"])
def test_writes_an_absent_or_regular_target_whole(tmp_path, existing):
    target = tmp_path / "r.json"
    if existing is not None:
        target.write_text(existing)
    write_text(target, "new\n", what="the result file")
    assert target.read_text() == "new\n"
    assert os.listdir(tmp_path) == ["r.json"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_relative_target_is_in_the_workingdirectory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_text("r.json", "x", what="the result file")
    assert (tmp_path / "r.json").read_text() == "x"


def test_a_device_that_appears_after_the_check_is_not_replaced(tmp_path):
    """The target is checked again as the written file takes its name."""
    target = tmp_path / "r.json"
    temporary = tmp_path / ".r.json.tmp"
    temporary.write_text("new\n")
    null(tmp_path).rename(target)  # as if made between the check and the rename
    with pytest.raises(FileProblem, match="is a character device"):
        safeio._install(str(temporary), str(target), "--output")
    assert stat.S_ISCHR(os.lstat(target).st_mode)


def test_a_full_disk_is_one_line_and_keeps_the_old_file(tmp_path):
    with tmpfs(tmp_path / "small", "size=64k") as small:
        target = small / "r.json"
        target.write_text("old\n")
        with pytest.raises(FileProblem) as caught:
            write_text(target, "x" * (1024 * 1024), what="the result file", label="--output")
        assert str(caught.value) == (
            f"--output = '{target}': cannot write the result file (No space left on device)"
        )
        assert target.read_text() == "old\n"
        assert os.listdir(small) == ["r.json"]


def test_a_read_only_file_system_is_one_line(tmp_path):
    with tmpfs(tmp_path / "ro", "size=64k,ro") as read_only:
        with pytest.raises(FileProblem) as caught:
            write_text(read_only / "r.json", "x", what="the result file", label="--output")
        assert str(caught.value) == (
            f"--output = '{read_only / 'r.json'}': cannot write in the directory {read_only} "
            "(read-only file system)"
        )


def test_a_directory_that_vanishes_before_the_write_is_one_line(tmp_path, monkeypatch):
    directory = tmp_path / "gone"
    directory.mkdir()
    checked = safeio.check_target

    def check_then_vanish(path, label=None):
        checked(path, label)
        directory.rmdir()

    monkeypatch.setattr(safeio, "check_target", check_then_vanish)
    with pytest.raises(FileProblem) as caught:
        write_text(directory / "r.json", "x", what="the report")
    assert str(caught.value) == (
        f"{directory / 'r.json'}: cannot write the report "
        f"(the directory {directory} no longer exists)"
    )
