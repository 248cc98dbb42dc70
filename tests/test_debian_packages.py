"""A build context's Debian packages (maestro_deploy/local/debian.py): pinned by sha256, fetched
by the host's apt, and, when the lock keeps paths, unpacked on the host so that the image build
copies files instead of decompressing packages. Real .debs, made here with dpkg-deb; apt-get is
a stand-in on PATH that hands them out, as `apt-get download` would."""

import hashlib
import os
import shutil
import subprocess

import pytest

from maestro_deploy.local import debian
from maestro_deploy.local.debian import VendoringError, read_lock, unpack, vendor_debs

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
    with pytest.raises(VendoringError, match=r"^dpkg-deb could not read broken_1.0_all.deb: .*\S"):
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
