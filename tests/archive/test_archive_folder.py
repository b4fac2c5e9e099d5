"""A reader learns that nothing was archived from the archive's local folder, without fsspec; the folder and the
archive's file system answer alike, and a URL is left to fsspec."""

from __future__ import annotations

from pathlib import Path

import pytest

from aioa.archive.store import archive_filesystem, holds_any_table, local_archive_folder
from aioa.settings import Settings


@pytest.mark.parametrize(
    "folders, holds",
    [
        ([], False),  # no archive folder at all
        (["."], False),  # an empty archive
        (["marts", "raw/other_table", ".rekey"], False),  # folders, but none of an archived table
        (["marts/fct_llm_calls"], True),
        (["raw/tool_calls/org=acme"], True),
    ],
)
def test_the_local_folder_and_the_file_system_agree(tmp_path: Path, folders: list[str], holds: bool) -> None:
    settings = Settings(home=tmp_path / "home", archive_url=str(tmp_path / "archive"))
    for folder in folders:
        (tmp_path / "archive" / folder).mkdir(parents=True, exist_ok=True)
    folder = local_archive_folder(settings)
    assert folder == tmp_path / "archive"
    assert holds_any_table(folder) is holds
    assert holds_any_table(archive_filesystem(settings, writable=False)) is holds


def test_the_default_archive_is_the_homes_folder_and_a_url_goes_to_fsspec(tmp_path: Path) -> None:
    assert local_archive_folder(Settings(home=tmp_path, archive_url=None)) == tmp_path / "archive"
    assert local_archive_folder(Settings(home=tmp_path, archive_url="~/archive")) == Path.home() / "archive"
    for url in ("s3://bucket/archive", f"file://{tmp_path}/archive", "memory://archive", "simplecache::s3://b/a"):
        assert local_archive_folder(Settings(home=tmp_path, archive_url=url)) is None
