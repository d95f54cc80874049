"""project.keys: the embedded default's secret key, made once per installation and kept."""

from __future__ import annotations

import stat
from concurrent.futures import ProcessPoolExecutor

import pytest
from django.core.exceptions import ImproperlyConfigured

from project.keys import installation_secret_key


def test_the_first_start_makes_a_private_random_key_and_later_starts_reuse_it(tmp_path):
    path = tmp_path / "var" / "secret_key"
    key = installation_secret_key(path)
    assert len(key) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert installation_secret_key(path) == key
    assert installation_secret_key(tmp_path / "other" / "secret_key") != key
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no candidate left behind


def test_processes_starting_together_agree_on_one_key(tmp_path):
    path = tmp_path / "secret_key"
    with ProcessPoolExecutor(4) as pool:
        keys = set(pool.map(installation_secret_key, [path] * 16))
    assert keys == {path.read_text().strip()}


def test_a_damaged_key_file_stops_start_up_naming_it(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("")
    with pytest.raises(ImproperlyConfigured, match="secret_key holds no usable secret key"):
        installation_secret_key(path)
