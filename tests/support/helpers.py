"""Small helpers shared by tests (not fixtures)."""

from __future__ import annotations

from pathlib import Path

from mailsup import directory


def load_directory(tmp_path: Path, toml_text: str, name: str = "directory.toml"):
    path = tmp_path / name
    path.write_text(toml_text, encoding="utf-8")
    return directory.load_file(path)
