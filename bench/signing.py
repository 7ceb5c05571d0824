"""Signing benchmark: what signing and verifying a model version costs, against a plain sha256 of
the same bytes measured in the same run.

On a 100 MB artifact (a file, and the same bytes as a folder of files):
- baseline: hashlib.sha256 over the file, streamed in 1 MiB chunks (what registration already
  does for every version);
- sign: champion.signing.sign_path with an EC P-256 key (model-signing hashes the files, builds
  the in-toto statement, signs the DSSE envelope);
- verify: champion.signing.verify_path with the public key (the library hashes again and checks).
And the bundle's size, which lands in the tag's metadata.

Prints figures and ratios; never fails because something is slow. Exits 1 if a step goes wrong.

    .venv/bin/python bench/signing.py [--mib 100] [--files 16] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _keys(folder: Path) -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        with file.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _time(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    fn()  # warm-up: the page cache holds the bytes for every contender alike
    seconds = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t)
    return min(seconds), statistics.median(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=100, help="artifact size (default 100 MiB)")
    parser.add_argument("--files", type=int, default=16, help="files of the folder (default 16)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from champion.signing import Trust, sign_path, verify_path
    from champion.signing.bundle import SignatureInvalid

    with tempfile.TemporaryDirectory(prefix="champion-bench-signing-") as tmp:
        base = Path(tmp)
        private, public = _keys(base)
        block = hashlib.sha256(b"seed").digest() * (1 << 15)  # 1 MiB, not all zeros
        single = base / "model.bin"
        with single.open("wb") as f:
            for i in range(args.mib):
                f.write(block[i % 32 :] + block[: i % 32])
        folder = base / "model"
        folder.mkdir()
        data = single.read_bytes()
        step = len(data) // args.files
        for i in range(args.files):
            end = len(data) if i == args.files - 1 else (i + 1) * step
            (folder / f"part-{i:03d}.bin").write_bytes(data[i * step : end])
        del data
        trust = Trust.key(public)
        print(f"artifact: {args.mib} MiB; folder: the same bytes in {args.files} files")
        print(f"{'case':<34}{'best s':>9}{'median s':>10}{'x sha256':>10}")
        for label, path in (("file", single), (f"folder ({args.files} files)", folder)):
            bundle = sign_path(path, key_pem=private).bundle
            verify_path(path, bundle, trust)
            base_best, base_median = _time(lambda p=path: _sha256(p), args.runs)
            sign_best, sign_median = _time(
                lambda p=path: sign_path(p, key_pem=private),
                args.runs,
            )
            verify_best, verify_median = _time(
                lambda p=path, b=bundle: verify_path(p, b, trust),
                args.runs,
            )
            for name, best, median in (
                (f"{label}: sha256 (baseline)", base_best, base_median),
                (f"{label}: sign", sign_best, sign_median),
                (f"{label}: verify", verify_best, verify_median),
            ):
                print(f"{name:<34}{best:>9.3f}{median:>10.3f}{best / base_best:>10.2f}")
            size = len(json.dumps(bundle, sort_keys=True, indent=2))
            print(f"{label}: bundle {size:,} bytes in the tag's metadata")
        # A sanity check that the figures are of a working verification.
        (folder / "part-000.bin").write_bytes(b"tampered")
        try:
            verify_path(folder, sign_path(single, key_pem=private).bundle, trust)
        except SignatureInvalid:
            pass
        else:
            print("error: a tampered folder verified", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
