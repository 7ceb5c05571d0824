"""A folder's manifest: the sha256 a user can recompute with coreutils, and what is refused."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from champion.manifest import FolderError, Manifest, check_folder, of_folder, parse_index

# What the docs give a user to recompute a folder's sha256 without champion (docs/artifacts.md).
ONE_LINER = (
    "find -L . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum"
)
DOCS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "artifacts.md"


def folder(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    for name, data in {
        "config.json": b"{}",
        "weights/part-1.bin": os.urandom(3000),
        "weights/part-10.bin": os.urandom(10),
        "weights-extra.txt": b"sorted by bytes: '-' before '/'",
        "b/a b.txt": b"a space in the name",
        "Upper.txt": b"",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    os.symlink("part-1.bin", root / "weights" / "latest.bin")
    return root


def test_the_docs_one_liner_gives_the_same_sha256(tmp_path: Path) -> None:
    assert ONE_LINER in DOCS_PAGE.read_text(encoding="utf-8"), "the page shows another command"
    root = folder(tmp_path)
    proc = subprocess.run(
        ["bash", "-c", ONE_LINER], cwd=root, capture_output=True, text=True, check=True
    )
    manifest = of_folder(root, "model")
    assert proc.stdout.split()[0] == manifest.sha256
    assert [f.path for f in manifest.files][:3] == ["Upper.txt", "b/a b.txt", "config.json"]
    assert manifest.size == sum(f.size for f in manifest.files) == 3000 + 10 + 2 + 31 + 19 + 3000


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("../../outside.txt", "outside the folder"),
        ("../weights", "a symlink to a folder"),
        ("missing.bin", "dangling symlink"),
    ],
)
def test_links_out_to_folders_or_nowhere_are_refused(
    tmp_path: Path, link: str, message: str
) -> None:
    root = folder(tmp_path)
    (tmp_path / "outside.txt").write_text("secret")
    os.symlink(link, root / "weights" / "odd")
    with pytest.raises(FolderError, match=message) as e:
        of_folder(root, "model")
    assert "weights/odd" in str(e.value)


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(FolderError, match="empty folder"):
        of_folder(tmp_path / "empty", "model")


def test_check_folder_names_what_differs(tmp_path: Path) -> None:
    root = folder(tmp_path)
    recorded = of_folder(root, "model")
    (root / "config.json").write_bytes(b"{'changed': 1}")
    (root / "Upper.txt").unlink()
    (root / "new.txt").write_text("x")
    with pytest.raises(FolderError) as e:
        check_folder(root, recorded, "model")
    assert "changed: config.json; missing: Upper.txt; unexpected: new.txt" in str(e.value)


@pytest.mark.parametrize(
    "files",
    [
        [{"path": "../x", "sha256": "a" * 64, "size": 1}],
        [{"path": "/etc/passwd", "sha256": "a" * 64, "size": 1}],
        [{"path": "a\nb", "sha256": "a" * 64, "size": 1}],
        [{"path": "a", "sha256": "A" * 64, "size": 1}],
        [{"path": "a", "sha256": "a" * 64, "size": -1}],
        [
            {"path": "a", "sha256": "a" * 64, "size": 1},
            {"path": "a", "sha256": "b" * 64, "size": 1},
        ],
        [],
    ],
)
def test_a_listing_from_a_tag_or_an_index_is_validated(files: list[dict[str, object]]) -> None:
    with pytest.raises(FolderError):
        Manifest.from_metadata(files, "index")
    data = b'{"schema": 1, "files": ' + repr(files).replace("'", '"').encode() + b"}"
    with pytest.raises(FolderError):
        parse_index(data, "index")
