"""A build context's Debian packages (maestro_deploy/local/debian.py): pinned by sha256, fetched
by the host's apt, and, when the lock keeps paths, unpacked on the host so that the image build
copies files instead of decompressing packages. Real .debs, made here with dpkg-deb; apt-get is
a stand-in on PATH that hands them out, as `apt-get download` would."""

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import threading

import pytest

from maestro_deploy.local import debian
from maestro_deploy.local.debian import VendoringError, read_lock, vendor_debs
from maestro_deploy.local.package_unpacking import UnpackError, unpack

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs Debian's dpkg-deb")


def make_deb(tmp_path, name, files, links=()):
    """A .deb holding `files` (path -> text) and `links` (path, target)."""
    tree = tmp_path / f"{name}-tree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: test <test@localhost>\nDescription: test\n"
    )
    for path, text in files.items():
        (tree / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (tree / path.lstrip("/")).write_text(text)
    for path, target in links:
        (tree / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, tree / path.lstrip("/"))
    deb = tmp_path / f"{name}_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(tree), str(deb)], check=True, capture_output=True)
    return deb


def tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


def test_only_what_is_kept_and_not_dropped_is_unpacked(tmp_path):
    deb = make_deb(
        tmp_path,
        "tool",
        {"/usr/bin/tool": "run", "/usr/bin/helper": "help", "/usr/share/doc/tool/README": "doc",
         "/etc/tool/tool.yml": "conf", "/etc/other.conf": "x", "/lib/tool.so": "lib"},
        links=[("/usr/share/tool/latest", "/usr/bin/tool")],
    )
    root = tmp_path / "root"
    unpack(deb, root, keep=["/usr", "/etc/tool"], drop=["/usr/share/doc", "/usr/bin/helper"])
    assert tree(root) == ["etc/tool/tool.yml", "usr/bin/tool", "usr/share/tool/latest"]
    assert os.readlink(root / "usr/share/tool/latest") == "/usr/bin/tool"  # as dpkg would install it
    assert (root / "usr/bin/tool").read_text() == "run"


def test_a_package_dpkg_cannot_read_is_an_error_naming_it(tmp_path):
    broken = tmp_path / "broken_1.0_all.deb"
    broken.write_bytes(b"!<arch>\nnot a package")
    with pytest.raises(UnpackError, match=r"^broken_1.0_all.deb: dpkg-deb could not read it: dpkg-deb: error: .*\S"):
        unpack(broken, tmp_path / "root", keep=["/usr"], drop=[])


@pytest.fixture
def apt(tmp_path, monkeypatch):
    """`apt-get download NAME=VERSION...` copies the .debs made here into the working directory."""
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(
        f'#!/bin/sh\n[ "$1" = download ] || exit 0\nshift 2\nfor spec; do cp "{shelf}/${{spec%%=*}}"_*.deb . || exit 100; done\n'
    )
    (bin_dir / "apt-get").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return shelf


def write_lock(context, pins, extra=""):
    context.mkdir(exist_ok=True)
    lines = [f"{name}=1.0 {digest}" for name, digest in pins.items()]
    (context / debian.DEBIAN_LOCK).write_text("# pinned\n" + "\n".join(lines) + "\n" + extra)


def test_a_lock_that_keeps_paths_gets_them_unpacked_and_no_deb(tmp_path, apt):
    deb = make_deb(apt, "tool", {"/usr/bin/tool": "run", "/usr/share/man/tool.1": "man"})
    context = tmp_path / "context"
    write_lock(context, {"tool": hashlib.sha256(deb.read_bytes()).hexdigest()}, "keep /usr\ndrop /usr/share/man\n")
    vendor_debs(context)
    assert tree(context / "debian-root") == [debian.DEBIAN_LOCK, "usr/bin/tool"]  # the lock's copy is the stamp
    assert not (context / "debs").exists() and not list(context.rglob("*.deb"))
    # Filled once per lock: a second call downloads nothing.
    deb.unlink()
    vendor_debs(context)
    assert tree(context / "debian-root") == [debian.DEBIAN_LOCK, "usr/bin/tool"]


def test_a_lock_without_keep_lines_gets_its_debs(tmp_path, apt):
    deb = make_deb(apt, "tool", {"/usr/bin/tool": "run"})
    context = tmp_path / "context"
    write_lock(context, {"tool": hashlib.sha256(deb.read_bytes()).hexdigest()})
    vendor_debs(context)
    assert tree(context / "debs") == [debian.DEBIAN_LOCK, deb.name]


@pytest.mark.parametrize("keeps, target", [("keep /usr\n", "debian-root"), ("", "debs")])
def test_a_package_that_is_not_the_one_pinned_is_refused_and_not_kept(tmp_path, apt, keeps, target):
    make_deb(apt, "tool", {"/usr/bin/tool": "run"})
    context = tmp_path / "context"
    write_lock(context, {"tool": "0" * 64}, keeps)
    with pytest.raises(VendoringError, match=r"not the packages .* pins \(sha256 differs\): tool=1.0"):
        vendor_debs(context)
    assert tree(context / target) == []  # and no stamp: the next call downloads again


@pytest.mark.parametrize(
    "line, said",
    [("keep usr", "keep takes an absolute path, such as /usr"), ("tool=1.0", "expected `name=version sha256`, `keep PATH` or `drop PATH`")],
)
def test_a_malformed_lock_line_is_named_by_its_number(tmp_path, line, said):
    lock = tmp_path / debian.DEBIAN_LOCK
    lock.write_text(f"# a comment\n{line}\n")
    with pytest.raises(VendoringError) as failed:
        read_lock(lock)
    assert str(failed.value) == f"{lock}:2: {said}"


def crafted_deb(path, members):
    """A .deb whose data.tar holds `members` as given, in order, as no dpkg-deb --build would:
    (name, kind, text or link target, mode), kind one of file, dir, symlink, hardlink."""
    def tar(entries):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
            for name, kind, payload, mode in entries:
                info = tarfile.TarInfo(name)
                info.mode = mode
                data = None
                if kind == "file":
                    data = payload.encode()
                    info.size = len(data)
                elif kind == "dir":
                    info.type = tarfile.DIRTYPE
                else:
                    info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                    info.linkname = payload
                archive.addfile(info, io.BytesIO(data) if data is not None else None)
        return buffer.getvalue()

    control = tar([("./control", "file", "Package: crafted\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@localhost>\nDescription: t\n", 0o644)])
    parts = [("debian-binary", b"2.0\n"), ("control.tar", control), ("data.tar", tar(members))]
    with open(path, "wb") as deb:
        deb.write(b"!<arch>\n")
        for name, data in parts:
            deb.write(f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode())
            deb.write(data + (b"\n" if len(data) % 2 else b""))
    return path


def unpack_within(deb, root, seconds=20):
    """unpack, in a thread: a hang (dpkg-deb blocked on a full pipe) fails the test, not the run."""
    outcome = {}

    def run():
        try:
            unpack(deb, root, keep=["/usr"], drop=[])
        except UnpackError as err:
            outcome["error"] = str(err)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "unpack hung"
    return outcome.get("error")


def test_a_member_written_through_an_earlier_link_is_refused_and_nothing_outside_changes(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    deb = crafted_deb(tmp_path / "escape.deb", [
        ("./usr/", "dir", None, 0o755),
        ("./usr/a", "symlink", str(outside), 0o777),
        ("./usr/a/evil", "file", "owned", 0o644),
        ("./usr/big", "file", "x" * 300_000, 0o644),  # more than a pipe holds, after the refusal
    ])
    said = unpack_within(deb, tmp_path / "root")
    assert said == f"escape.deb: ./usr/a/evil: would be written outside {tmp_path / 'root'}, through a link"
    assert list(outside.iterdir()) == []


def a_victim(tmp_path):
    """A file outside the root that no unpacking may touch: its text, mode and links stay."""
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    victim.chmod(0o600)
    return victim


def untouched(victim):
    facts = victim.stat()
    return victim.read_text() == "untouched" and facts.st_mode & 0o777 == 0o600 and facts.st_nlink == 1


def test_a_file_that_replaces_a_link_replaces_it_and_does_not_write_through_it(tmp_path):
    victim = a_victim(tmp_path)
    deb = crafted_deb(tmp_path / "replace.deb", [
        ("./usr/", "dir", None, 0o755),
        ("./usr/x", "symlink", str(victim), 0o777),
        ("./usr/x", "file", "the package's", 0o4755),
    ])
    assert unpack_within(deb, tmp_path / "root") is None
    assert untouched(victim)
    unpacked = tmp_path / "root" / "usr" / "x"
    assert not unpacked.is_symlink() and unpacked.read_text() == "the package's"
    assert unpacked.stat().st_mode & 0o7777 == 0o755  # no setuid bit lands in the repo


@pytest.mark.parametrize("link", ["../victim", "./usr/s"])
def test_a_hard_link_to_anything_but_a_file_unpacked_with_it_is_refused(tmp_path, link):
    victim = a_victim(tmp_path)
    deb = crafted_deb(tmp_path / "hard.deb", [
        ("./usr/", "dir", None, 0o755),
        ("./usr/s", "symlink", str(victim), 0o777),
        ("./usr/h", "hardlink", link, 0o755),
    ])
    said = unpack_within(deb, tmp_path / "root")
    assert said == f"hard.deb: ./usr/h: a hard link to {link}, which is not a file unpacked with it"
    assert untouched(victim)


def test_a_file_where_a_directory_is_is_an_error_naming_the_member(tmp_path):
    deb = crafted_deb(tmp_path / "clash.deb", [
        ("./usr/", "dir", None, 0o755),
        ("./usr/d/", "dir", None, 0o755),
        ("./usr/d/inside", "file", "x", 0o644),
        ("./usr/d", "file", "a file now", 0o644),
    ])
    said = unpack_within(deb, tmp_path / "root")
    assert said == "clash.deb: ./usr/d: Is a directory"



@pytest.mark.parametrize("keeps, stale", [("keep /usr\n", "debs"), ("", "debian-root")])
def test_a_lock_that_changes_kind_leaves_nothing_of_the_other_kind(tmp_path, apt, keeps, stale):
    """What the other kind of lock made would stay in the build context: hashed and sent to Docker."""
    deb = make_deb(apt, "tool", {"/usr/bin/tool": "run"})
    context = tmp_path / "context"
    (context / stale).mkdir(parents=True)
    (context / stale / "left-over").write_text("from the lock before")
    write_lock(context, {"tool": hashlib.sha256(deb.read_bytes()).hexdigest()}, keeps)
    vendor_debs(context)
    assert not (context / stale).exists()
