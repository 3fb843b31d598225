"""What encryption at rest costs: AES-256-GCM throughput, the CPU it adds to one live stream, and the time it adds to
the start of a playback (the first MiB a player asks for, and a range request in the middle). Prints JSON.

    make bench-encryption
    .venv/bin/python -m benchmarks.encryption [--mib 64] [--stream-kbps 1500] [--stream-core 0.1]

`--stream-kbps` is what one live candidate's recording writes (camera and screen parts, about 1.5 Mbit/s at the
student page's settings) and `--stream-core` the CPU one live stream already takes (README: 0.095–0.115); the
added share is the encryption's CPU for that many bytes a second over the stream's own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from proctor.recording.encrypted import EncryptedStorage
from proctor.recording.storage import LocalStorage, Storage

MIB = 1024 * 1024


def _cpu() -> float:
    return time.process_time()


def _first_bytes(storage: Storage, key: str, start: int, size: int, rounds: int) -> float:
    """Median seconds to open `key`, seek to `start` and read `size` bytes (a player's range request)."""
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        with storage.open(key) as handle:
            handle.seek(start)
            left = size
            while left > 0 and (block := handle.read(min(left, 256 * 1024))):
                left -= len(block)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def run(mib: int, stream_kbps: float, stream_core: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        plain = LocalStorage(folder / "plain")
        sealed = EncryptedStorage.over(LocalStorage(folder / "sealed"), folder / "master.key", create=True)
        data = os.urandom(mib * MIB)
        source = folder / "source.bin"
        source.write_bytes(data)
        began = _cpu()
        plain.put("c/e/s/recording.mp4", source)
        plain_cpu = _cpu() - began
        source.write_bytes(data)
        began = _cpu()
        sealed.put("c/e/s/recording.mp4", source)
        sealed_cpu = _cpu() - began
        throughput = mib / max(sealed_cpu - plain_cpu, 1e-9)
        began = _cpu()
        with sealed.open("c/e/s/recording.mp4") as handle:
            while handle.read(MIB):
                pass
        decrypt_mib_s = mib / max(_cpu() - began, 1e-9)
        rounds = 15
        start_plain = _first_bytes(plain, "c/e/s/recording.mp4", 0, MIB, rounds)
        start_sealed = _first_bytes(sealed, "c/e/s/recording.mp4", 0, MIB, rounds)
        seek_plain = _first_bytes(plain, "c/e/s/recording.mp4", len(data) // 2 + 12345, MIB, rounds)
        seek_sealed = _first_bytes(sealed, "c/e/s/recording.mp4", len(data) // 2 + 12345, MIB, rounds)
    stream_mib_s = stream_kbps * 1000 / 8 / MIB
    added_core = stream_mib_s / throughput
    return {
        "benchmark": "encryption at rest (AES-256-GCM, 64 KiB segments)",
        "mib": mib,
        "encrypt_mib_per_cpu_s": round(throughput, 1),
        "decrypt_mib_per_cpu_s": round(decrypt_mib_s, 1),
        "live_stream": {
            "writes_kbps": stream_kbps,
            "added_core": round(added_core, 6),
            "added_share_of_stream": round(added_core / stream_core, 4),
        },
        "playback_first_mib_s": {"plain": round(start_plain, 5), "encrypted": round(start_sealed, 5)},
        "playback_seek_mib_s": {"plain": round(seek_plain, 5), "encrypted": round(seek_sealed, 5)},
        "note": "playback start is opening the file and answering the player's first range (1 MiB); the player's "
        "own start (first request, decoding) comes on top of both",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="size of the test recording in MiB (64)")
    parser.add_argument("--stream-kbps", type=float, default=1500.0, help="what one live stream writes (1500)")
    parser.add_argument("--stream-core", type=float, default=0.1, help="CPU one live stream takes already (0.1)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.mib, args.stream_kbps, args.stream_core), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
