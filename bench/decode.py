"""Benchmark: one hour of two-leg PCMU SN3 -> stereo WAV, our decoder vs ffmpeg (and sox).

Run by hand: ``.venv/bin/python bench/decode.py [--minutes 60] [--runs 3]``. Each tool runs as a
child process; wall time and peak RSS (os.wait4) are for the whole child process.
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


def build_blob(minutes: int, folder: Path) -> tuple[Path, Path, Path, int]:
    """Write call.sn3 plus the same mu-law bytes as raw per-leg files; returns paths and frames."""
    import numpy as np

    from cdr.media.g711 import encode_ulaw

    frames = minutes * 60 * 50
    rng = np.random.default_rng(7)
    t = np.arange(frames * 160) / 8000.0
    caller = encode_ulaw((6000 * np.sin(2 * np.pi * 330 * t) + rng.normal(0, 800, t.size)).astype(np.int16))
    agent = encode_ulaw((6000 * np.sin(2 * np.pi * 550 * t) + rng.normal(0, 800, t.size)).astype(np.int16))
    (folder / "caller.ul").write_bytes(caller)
    (folder / "agent.ul").write_bytes(agent)
    # vectorised SN3 build (same layout as cdr.media.sn3.build_sn3, which is too slow for 360k frames)
    rec = np.dtype([("dir", "u1"), ("seq", "<u2"), ("ts", "<u4"), ("wall", "<u8"), ("len", "<u2"), ("p", "u1", 160)])
    table = np.zeros(2 * frames, dtype=rec)
    i = np.arange(frames)
    for leg, data, wall_off in ((0, caller, 0), (1, agent, 0)):
        sl = table[leg::2]
        sl["dir"] = leg
        sl["seq"] = (i + 1000 * leg) & 0xFFFF
        sl["ts"] = (i * 160 + 77 * leg) & 0xFFFFFFFF
        sl["wall"] = i * 20_000_000 + wall_off
        sl["len"] = 160
        sl["p"] = np.frombuffer(data, dtype=np.uint8).reshape(frames, 160)
    blob = folder / "call.sn3"
    with blob.open("wb") as f:
        f.write(b"SN3")
        f.write(table.tobytes())
    return blob, folder / "caller.ul", folder / "agent.ul", frames


def measure(cmd: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} failed: {stderr.strip()}")
    return elapsed, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--build-into", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_into:
        build_blob(args.minutes, Path(args.build_into))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # build in a child so this parent stays small: forked children inherit its RSS
        subprocess.run([sys.executable, __file__, "--minutes", str(args.minutes), "--build-into", tmp], check=True)
        blob, caller, agent = folder / "call.sn3", folder / "caller.ul", folder / "agent.ul"
        frames = args.minutes * 60 * 50
        ours_wav, ff_wav, sox_wav = folder / "ours.wav", folder / "ffmpeg.wav", folder / "sox.wav"
        tools: dict[str, list[str]] = {
            "ours": [
                sys.executable,
                "-c",
                "import sys; from cdr.media.cli import main; sys.exit(main(sys.argv[1:]))",
                str(blob),
                "--codec",
                "pcmu",
                "-o",
                str(ours_wav),
            ],
        }
        if shutil.which("ffmpeg"):
            tools["ffmpeg"] = [
                "ffmpeg",
                "-nostdin",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "mulaw",
                "-ar",
                "8000",
                "-ac",
                "1",
                "-i",
                str(caller),
                "-f",
                "mulaw",
                "-ar",
                "8000",
                "-ac",
                "1",
                "-i",
                str(agent),
                "-filter_complex",
                "[0:a][1:a]join=inputs=2:channel_layout=stereo[a]",
                "-map",
                "[a]",
                "-c:a",
                "pcm_s16le",
                str(ff_wav),
            ]
        if shutil.which("sox"):
            tools["sox"] = [
                "sox",
                "-M",
                "-t",
                "ul",
                "-r",
                "8000",
                "-c",
                "1",
                str(caller),
                "-t",
                "ul",
                "-r",
                "8000",
                "-c",
                "1",
                str(agent),
                "-b",
                "16",
                str(sox_wav),
            ]
        env_cwd = os.getcwd()
        os.chdir(ROOT)
        results: dict[str, tuple[float, int]] = {}
        try:
            for name, cmd in tools.items():
                runs = [measure(cmd) for _ in range(args.runs)]
                results[name] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs))
        finally:
            os.chdir(env_cwd)
        wav_size = ours_wav.stat().st_size
        print(
            f"input: {args.minutes} min two-leg PCMU, {2 * frames} frames, SN3 {blob.stat().st_size / 1e6:.1f} MB,"
            f" WAV {wav_size / 1e6:.1f} MB; median of {args.runs} runs"
        )
        for name, (secs, rss) in results.items():
            print(f"{name:>7}: {secs:6.3f} s wall, peak RSS {rss / 1e6:7.1f} MB ({rss / wav_size:.2f}x WAV)")
        if "ffmpeg" in results:
            print(f"ours/ffmpeg time: {results['ours'][0] / results['ffmpeg'][0]:.2f}x (goal <= 2x)")
        print(f"ours peak RSS / WAV size: {results['ours'][1] / wav_size:.2f}x (goal < 3x)")
        ours_pcm = ours_wav.read_bytes()[44:]
        for name, path in (("ffmpeg", ff_wav), ("sox", sox_wav)):
            if path.exists():
                other = path.read_bytes()
                same = other[-len(ours_pcm) :] == ours_pcm
                print(f"PCM identical to {name}: {same}")


if __name__ == "__main__":
    main()
