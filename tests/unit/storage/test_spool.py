"""The recording spool (stdlib only) and the deterministic keys: no database, no storage."""

from __future__ import annotations

import os
import time
from datetime import date

import pytest

from cdr.storage.keys import recording_key, spool_name, taps_key
from cdr.storage.spool import RecordingSpool


def test_an_entry_survives_a_new_spool_object_and_is_removed_whole(tmp_path):
    spool = RecordingSpool(tmp_path / "s")
    spool.put("aa-1", meta={"key": "k1"}, data=b"blob-1")
    time.sleep(0.01)
    spool.put("bb-2", meta={"key": "k2"}, data=b"blob-2")
    again = RecordingSpool(tmp_path / "s")  # a restarted process
    assert again.names() == ["aa-1", "bb-2"]
    entry = again.get("aa-1")
    assert entry.meta == {"key": "k1"} and entry.blob_path.read_bytes() == b"blob-1"
    again.remove("aa-1")
    again.remove("aa-1")  # idempotent
    assert again.get("aa-1") is None and "aa-1" not in again and again.names() == ["bb-2"]
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["bb-2.blob", "bb-2.json"]


def test_a_blob_written_in_place_and_half_written_entries(tmp_path):
    spool = RecordingSpool(tmp_path)
    spool.part_path("taps-1").write_bytes(b"RIFF....")
    spool.put("taps-1", meta={"key": "t"})
    assert spool.get("taps-1").blob_path.read_bytes() == b"RIFF...."
    # A crash before the json: not an entry; its part file is swept once old.
    spool.part_path("cc-3").write_bytes(b"half")
    assert spool.names() == ["taps-1"] and spool.get("cc-3") is None
    assert spool.sweep_parts() == 0
    old = time.time() - 2 * 24 * 3600
    os.utime(spool.part_path("cc-3"), (old, old))
    assert spool.sweep_parts() == 1 and not spool.part_path("cc-3").exists()


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b", "", ".hidden", "x" * 300])
def test_names_cannot_leave_the_spool(tmp_path, name):
    spool = RecordingSpool(tmp_path)
    with pytest.raises(ValueError):
        spool.get(name)


def test_keys_are_deterministic_and_safe():
    day = date(2026, 3, 29)
    sha = "ab" * 32
    k1 = recording_key(tenant_id=7, call_id="x/../y@gw", day=day, sha256=sha, fmt="sn3")
    assert k1 == recording_key(tenant_id=7, call_id="x/../y@gw", day=day, sha256=sha, fmt="sn3")
    assert k1.startswith("recordings/7/2026/03/29/x_.._y_gw-") and k1.endswith(f"/{sha}.sn3")
    assert ".." not in k1.split("/")
    # Two Call-IDs that sanitise alike still get their own folders.
    assert recording_key(tenant_id=7, call_id="x/y", day=day, sha256=sha, fmt="sn3") != recording_key(
        tenant_id=7, call_id="x_y", day=day, sha256=sha, fmt="sn3"
    )
    assert recording_key(tenant_id=7, call_id="c", day=day, sha256=sha, fmt="stereo_pcm").endswith(".pcm")
    assert recording_key(tenant_id=7, call_id="c", day=day, sha256=sha, fmt="we/ird").endswith(".weird")
    assert taps_key(tenant_id=7, call_id="c", day=day).endswith("/taps.wav")
    assert spool_name(call_id="c", sha256=sha) != spool_name(call_id="d", sha256=sha)
