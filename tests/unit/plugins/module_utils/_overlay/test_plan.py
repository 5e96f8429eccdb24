"""Planning: cheap comparisons, owner/mode defaults, manifest, rollback, diffs."""
from __future__ import annotations

import json

from ansible_collections.spark_control.audio.plugins.module_utils._overlay import manifest as manifest_lib
from ansible_collections.spark_control.audio.plugins.module_utils._container_archive import DirSnapshot, Entry
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.plan import (
    classify, diffs, overlay_targets, plan)
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.source import MANIFEST_NAME, OverlayFile


def snap(**entries: Entry) -> DirSnapshot:
    return DirSnapshot("/app", 1000, 1001, dict(entries), 1)


def f(name: str, data: bytes, mode: int = 0o644, uid: int = 0, gid: int = 0) -> Entry:
    return Entry(name, "file", mode, uid, gid, data)


def test_classify_every_case():
    assert classify("a", None, f("a", b"x")).action == "create"
    assert classify("a", f("a", b"x"), f("a", b"xy")).action == "update"   # size differs
    assert classify("a", f("a", b"x"), f("a", b"y")).action == "update"    # same size, bytes differ
    assert classify("a", f("a", b"x"), f("a", b"x", mode=0o755)).action == "metadata"
    assert classify("a", f("a", b"x"), f("a", b"x")).action == "unchanged"
    assert classify("a", f("a", b"x"), None).action == "remove"
    assert classify("a", None, None).action == "unchanged"
    link = Entry("a", "symlink", 0o777, 0, 0, linkname="x")
    assert classify("a", link, f("a", b"x")).action == "update"


def test_targets_keep_existing_owner_and_mode_new_files_take_folder_owner_and_source_mode():
    s = snap(**{"main.py": f("main.py", b"old", mode=0o640, uid=5, gid=6)})
    files = [OverlayFile.of("main.py", b"new", 0o600), OverlayFile.of("diarizer.py", b"d", 0o755)]
    t = overlay_targets(files, s)
    assert (t["main.py"].mode, t["main.py"].uid, t["main.py"].gid) == (0o640, 5, 6)
    assert (t["diarizer.py"].mode, t["diarizer.py"].uid, t["diarizer.py"].gid) == (0o755, 1000, 1001)
    forced = overlay_targets(files, s, owner_id=0, group_id=0, mode=0o644)
    assert {(e.mode, e.uid, e.gid) for e in forced.values()} == {(0o644, 0, 0)}


def wanted(files: dict[str, bytes], version: str = "v1") -> dict:
    import hashlib
    return manifest_lib.build(version, {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}, "sha256:" + "a" * 64,
                              "2025-06-01T10:00:00.000000000Z")


def test_plan_new_overlay_writes_files_and_manifest_and_needs_restart():
    s = snap(**{"main.py": f("main.py", b"stock")})
    p = plan(s, overlay_targets([OverlayFile.of("main.py", b"patched", 0o644)], s), wanted({"main.py": b"patched"}))
    assert p.changed and p.content_changed
    assert [e.name for e in p.writes()] == ["main.py", MANIFEST_NAME]
    written = json.loads(p.writes()[1].data)
    assert written["version"] == "v1" and "applied_at" in written
    assert p.writes()[1].uid == 1000  # the manifest takes the folder's owner


def test_plan_current_overlay_with_manifest_is_a_no_op_and_keeps_applied_at():
    m = wanted({"main.py": b"patched"})
    m["applied_at"] = "2020-01-01T00:00:00Z"
    s = snap(**{"main.py": f("main.py", b"patched"), MANIFEST_NAME: f(MANIFEST_NAME, manifest_lib.encode(m))})
    p = plan(s, overlay_targets([OverlayFile.of("main.py", b"patched", 0o644)], s), wanted({"main.py": b"patched"}))
    assert not p.changed and p.writes() == [] and p.removals() == []
    assert p.manifest_after["applied_at"] == "2020-01-01T00:00:00Z"


def test_plan_missing_manifest_alone_is_a_change_without_restart():
    s = snap(**{"main.py": f("main.py", b"patched")})
    p = plan(s, overlay_targets([OverlayFile.of("main.py", b"patched", 0o644)], s), wanted({"main.py": b"patched"}))
    assert p.changed and not p.content_changed
    assert [e.name for e in p.writes()] == [MANIFEST_NAME]
    # Nothing the server loads changed: the manifest does not say "written while this server ran".
    assert json.loads(p.writes()[0].data)["written_during"] == "" == p.manifest_after["written_during"]


def test_plan_relabel_keeps_the_earlier_stamp():
    old = dict(wanted({"main.py": b"patched"}), written_during="2025-05-01T08:00:00Z")
    s = snap(**{"main.py": f("main.py", b"patched"), MANIFEST_NAME: f(MANIFEST_NAME, manifest_lib.encode(old))})
    p = plan(s, overlay_targets([OverlayFile.of("main.py", b"patched", 0o644)], s),
             wanted({"main.py": b"patched"}, version="v2"))
    assert p.changed and not p.content_changed
    written = json.loads(p.writes()[0].data)
    assert written["version"] == "v2" and written["written_during"] == "2025-05-01T08:00:00Z"


def test_plan_mode_change_alone_needs_no_restart():
    m = wanted({"main.py": b"patched"})
    s = snap(**{"main.py": f("main.py", b"patched"), MANIFEST_NAME: f(MANIFEST_NAME, manifest_lib.encode(m))})
    p = plan(s, overlay_targets([OverlayFile.of("main.py", b"patched", 0o644)], s, mode=0o600), m)
    assert p.changed and not p.content_changed and p.changed_names() == ["main.py"]


def test_rollback_restores_snapshot_including_removal_of_new_files_and_manifest():
    s = snap(**{"main.py": f("main.py", b"stock")})
    files = [OverlayFile.of("main.py", b"patched", 0o644), OverlayFile.of("new.py", b"n", 0o644)]
    p = plan(s, overlay_targets(files, s), wanted({"main.py": b"patched", "new.py": b"n"}))
    back = p.rollback()
    assert [e.name for e in back.writes()] == ["main.py"] and back.writes()[0].data == b"stock"
    assert sorted(back.removals()) == sorted(["new.py", MANIFEST_NAME])


def test_absent_plan_removes_manifest():
    m = manifest_lib.encode(wanted({"main.py": b"patched"}))
    s = snap(**{"main.py": f("main.py", b"patched"), MANIFEST_NAME: f(MANIFEST_NAME, m)})
    p = plan(s, {"main.py": f("main.py", b"stock")}, None)
    assert [e.name for e in p.writes()] == ["main.py"] and p.removals() == [MANIFEST_NAME]


def test_diffs_show_text_and_flag_binaries_and_big_files():
    s = snap(**{"main.py": f("main.py", b"a = 1\n"), "warmup.wav": f("warmup.wav", b"RIFF\0\0")})
    files = [OverlayFile.of("main.py", b"a = 2\n", 0o644), OverlayFile.of("warmup.wav", b"RIFF\0\1", 0o644),
             OverlayFile.of("big.txt", b"x" * 50, 0o644)]
    out = {d["after_header"].rsplit("/", 1)[1]: d
           for d in diffs(plan(s, overlay_targets(files, s), wanted({})), "box:/app", max_size=20)}
    assert out["main.py"]["before"] == "a = 1\n" and out["main.py"]["after"] == "a = 2\n"
    assert out["main.py"]["before_header"] == "box:/app/main.py"
    assert out["warmup.wav"]["src_binary"] == 1 and out["warmup.wav"]["dst_binary"] == 1
    assert "sha256" in out["warmup.wav"]["after"]
    assert out["big.txt"]["src_larger"] == 20 and out["big.txt"]["before"] == "(absent)\n"
    assert MANIFEST_NAME in out


def test_drift_lists_files_changed_after_apply():
    m = wanted({"main.py": b"patched", "diarizer.py": b"d"})
    import hashlib
    actual = {"main.py": hashlib.sha256(b"hand edit").hexdigest(), "diarizer.py": hashlib.sha256(b"d").hexdigest()}
    assert manifest_lib.drift(m, actual) == ["main.py"]
    assert manifest_lib.drift(None, actual) == []
    assert manifest_lib.parse(b"{not json") is None and manifest_lib.parse(b'{"files": 3}') is None
