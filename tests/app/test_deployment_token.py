"""The deployment token: created once, owner-only, compared in constant time."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cagents.app.deployment_token import TOKEN_FILE, deployment_token, token_matches
from cagents.errors import CagentsError


def test_token_is_created_private_and_stays_the_same(tmp_path: Path) -> None:
    token = deployment_token(tmp_path)
    path = tmp_path / TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token) >= 32
    assert deployment_token(tmp_path) == token
    assert token_matches(token, token)
    assert not token_matches(token, token[:-1] + ("x" if token[-1] != "x" else "y"))
    assert not token_matches(token, "")
    assert not token_matches(token, None)


def test_a_token_file_others_can_read_is_made_private_again(tmp_path: Path) -> None:
    token = deployment_token(tmp_path)
    path = tmp_path / TOKEN_FILE
    path.chmod(0o644)
    assert deployment_token(tmp_path) == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_truncated_token_file_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / TOKEN_FILE).write_text("short\n")
    (tmp_path / TOKEN_FILE).chmod(0o600)
    with pytest.raises(CagentsError, match="delete the file to make a new one"):
        deployment_token(tmp_path)


def test_two_homes_get_different_tokens(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert deployment_token(tmp_path / "a") != deployment_token(tmp_path / "b")
