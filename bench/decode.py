"""Benchmark: a one-hour two-leg PCMU call -> stereo WAV, whole processes, against ffmpeg (and sox).

Run by hand: ``.venv/bin/python bench/decode.py [--shape pauses|continuous] [--minutes 60] [--runs 5]``.

Shapes: ``pauses`` (the default) is a conversation: the two sides take turns of 2-10 s with
0.3-1.5 s pauses between them and send no packets while silent, as gateways with VAD do (a
one-hour call is an SN3 of about 28 MB). ``continuous`` has both legs sending for the whole hour
(64 MB). The other tools get the same mu-law bytes, silences included, as raw files.

Compared, each as a child process (wall time; CPU time and peak RSS from os.wait4; median, and the
minimum wall time, of the runs; the tools take turns within each run so that a machine slowing
down affects them alike, and CPU time says more than wall time on a busy machine):

- ``python -m cdr.media decode`` (the pure decoder, no Django);
- ``python manage.py cdr_decode`` (the same decoder behind the management command);
- ``ffmpeg``: the fastest way ffmpeg has, one interleaved stereo mu-law file to WAV, no filter;
- ``ffmpeg join``: the two legs as two files, joined into stereo (``join`` filter);
- ``sox -M`` with the two files, when installed.

Goal: ``python -m cdr.media decode`` within 1.2x ``ffmpeg``'s time on the pauses shape.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL = 1.2  # python -m cdr.media decode / ffmpeg, whole processes


def _turns(slots: int, seed: int) -> list[tuple[int, int, int]]:
    """(leg, first slot, end slot) of each turn of a conversation filling ``slots`` 20 ms slots."""
    import numpy as np

    rng = np.random.default_rng(seed)
    turns, at, leg = [], 0, 0
    while at < slots:
        end = min(slots, at + int(rng.integers(100, 501)))  # 2-10 s of talk
        turns.append((leg, at, end))
        at = end + int(rng.integers(15, 76))  # 0.3-1.5 s pause
        leg ^= 1
    return turns


def build_blob(minutes: int, shape: str, folder: Path) -> int:
    """Write call.sn3 plus the same mu-law bytes as raw per-leg files (silences filled in, so that
    every tool writes the same WAV); returns the number of frames in the SN3."""
    import numpy as np

    from cdr.media.g711 import encode_ulaw

    slots = minutes * 60 * 50
    rng = np.random.default_rng(7)
    t = np.arange(slots * 160) / 8000.0
    raw = [
        np.frombuffer(
            encode_ulaw((6000 * np.sin(2 * np.pi * hz * t) + rng.normal(0, 800, t.size)).astype(np.int16)), "u1"
        )
        for hz in (330, 550)
    ]
    if shape == "continuous":
        active = [np.arange(slots), np.arange(slots)]
    else:
        spans: list[list[np.ndarray]] = [[], []]
        for leg, lo, hi in _turns(slots, seed=11):
            spans[leg].append(np.arange(lo, hi))
        active = [np.concatenate(s) for s in spans]
        end = int(max(a[-1] for a in active)) + 1  # the WAV ends with the last frame
        for leg in (0, 1):
            silent = np.full(end, True)
            silent[active[leg]] = False
            codes = raw[leg][: end * 160].reshape(end, 160).copy()
            codes[silent] = encode_ulaw([0])[0]  # mu-law silence
            raw[leg] = codes.ravel()
    (folder / "caller.ul").write_bytes(raw[0])
    (folder / "agent.ul").write_bytes(raw[1])
    np.stack(raw, axis=1).tofile(folder / "stereo.ul")
    # vectorised SN3 build (same layout as cdr.media.sn3.build_sn3, which is too slow for 360k frames)
    rec = np.dtype([("dir", "u1"), ("seq", "<u2"), ("ts", "<u4"), ("wall", "<u8"), ("len", "<u2"), ("p", "u1", 160)])
    legs = []
    for leg, slot in enumerate(active):
        table = np.zeros(slot.size, dtype=rec)
        table["dir"] = leg
        table["seq"] = (np.arange(slot.size) + 1000 * leg) & 0xFFFF
        # the caller's RTP clock runs through its silences; the agent's (TTS) does not
        ticks = slot if leg == 0 else np.arange(slot.size)
        table["ts"] = (ticks * 160 + 77 * leg) & 0xFFFFFFFF
        table["wall"] = slot * 20_000_000
        table["len"] = 160
        table["p"] = raw[leg].reshape(-1, 160)[slot]
        legs.append(table)
    table = np.concatenate(legs)
    table = table[np.argsort(table["wall"], kind="stable")]
    with (folder / "call.sn3").open("wb") as f:
        f.write(b"SN3")
        f.write(table.tobytes())
    return int(table.size)


def measure(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS bytes of one run of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed: {stderr.strip()}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def tools(folder: Path) -> dict[str, tuple[list[str], Path]]:
    """name -> (command, the WAV it writes)."""
    blob, caller, agent = folder / "call.sn3", folder / "caller.ul", folder / "agent.ul"
    found = {
        "python -m cdr.media": [sys.executable, "-m", "cdr.media", "decode", str(blob), "--codec", "pcmu", "-o"],
        "manage.py cdr_decode": [sys.executable, "manage.py", "cdr_decode", str(blob), "--codec", "pcmu", "-o"],
    }
    if shutil.which("ffmpeg"):
        ffmpeg = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y"]
        ulaw = ["-f", "mulaw", "-ar", "8000", "-ac"]
        found["ffmpeg"] = [*ffmpeg, *ulaw, "2", "-i", str(folder / "stereo.ul"), "-c:a", "pcm_s16le"]
        join = "[0:a][1:a]join=inputs=2:channel_layout=stereo[a]"
        found["ffmpeg join"] = [*ffmpeg, *ulaw, "1", "-i", str(caller), *ulaw, "1", "-i", str(agent)]
        found["ffmpeg join"] += ["-filter_complex", join, "-map", "[a]", "-c:a", "pcm_s16le"]
    if shutil.which("sox"):
        sox_in = ["-t", "ul", "-r", "8000", "-c", "1"]
        found["sox"] = ["sox", "-M", *sox_in, str(caller), *sox_in, str(agent), "-b", "16"]
    outputs = {name: folder / f"{name.split()[-1]}.wav" for name in found}
    return {name: ([*cmd, str(outputs[name])], outputs[name]) for name, cmd in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=("pauses", "continuous"), default="pauses")
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build-into", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_into:
        build_blob(args.minutes, args.shape, Path(args.build_into))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # built in a child so this parent stays small (os.wait4's RSS is the child's own)
        build = [sys.executable, __file__, "--minutes", str(args.minutes), "--shape", args.shape, "--build-into", tmp]
        subprocess.run(build, check=True)
        found = tools(folder)
        times: dict[str, list[float]] = {name: [] for name in found}
        cpus: dict[str, list[float]] = {name: [] for name in found}
        rss: dict[str, int] = dict.fromkeys(found, 0)
        names = list(found)
        for run in range(-1, args.runs):  # run -1 warms up: page cache, .pyc files
            for name in names[run % len(names) :] + names[: run % len(names)]:  # each run starts elsewhere
                cmd, output = found[name]
                # Nobody pays for the previous run's output (deleting 115 MB) or its pending writeback.
                output.unlink(missing_ok=True)
                os.sync()
                secs, cpu, peak = measure(cmd)
                if run >= 0:
                    times[name].append(secs)
                    cpus[name].append(cpu)
                    rss[name] = max(rss[name], peak)
        report(args, folder, found, times, cpus, rss)


def report(
    args: argparse.Namespace,
    folder: Path,
    found: dict[str, tuple[list[str], Path]],
    times: dict[str, list[float]],
    cpus: dict[str, list[float]],
    rss: dict[str, int],
) -> None:
    ours = found["python -m cdr.media"][1]
    wav_size = ours.stat().st_size
    sn3_mb = (folder / "call.sn3").stat().st_size / 1e6
    median = {name: statistics.median(t) for name, t in times.items()}
    print(
        f"input: {args.minutes} min two-leg PCMU, shape {args.shape}, SN3 {sn3_mb:.1f} MB, WAV {wav_size / 1e6:.1f} MB;"
        f" whole processes, median (min) of {args.runs} runs"
    )
    for name, secs in median.items():
        print(
            f"{name:>21}: {secs:6.3f} s ({min(times[name]):.3f}) wall, {statistics.median(cpus[name]):6.3f} s CPU,"
            f" peak RSS {rss[name] / 1e6:6.1f} MB ({rss[name] / wav_size:.2f}x WAV)"
        )
    media, manage = median["python -m cdr.media"], median["manage.py cdr_decode"]
    if "ffmpeg" in median:
        ratio = media / median["ffmpeg"]
        print(f"python -m cdr.media / ffmpeg: {ratio:.2f}x (goal <= {GOAL}x: {'met' if ratio <= GOAL else 'NOT met'})")
        print(f"python -m cdr.media / ffmpeg join: {media / median['ffmpeg join']:.2f}x")
        print(f"manage.py cdr_decode / ffmpeg: {manage / median['ffmpeg']:.2f}x")
    print(f"manage.py cdr_decode / python -m cdr.media: {manage / media:.2f}x (+{manage - media:.3f} s)")
    pcm = ours.read_bytes()[44:]
    for name, (_, path) in found.items():
        if path != ours:
            print(f"PCM identical, {name}: {path.read_bytes()[-len(pcm) :] == pcm}")


if __name__ == "__main__":
    main()
