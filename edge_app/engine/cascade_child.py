"""The cascade's ALIKED features computed in a short-lived process (``python -m
edge_app.engine.cascade_child``), for :meth:`edge_app.engine.thorough.Cascade.features_in_child`.

ALIKED's activations at 640x480 are about 0.6 GB an inference. The site app's serve runs
for weeks within a small memory budget, so its worker hands the photos of a thorough pass to
this process, which writes each photo's features to the cascade's disk cache and exits; the
memory goes with it.

Standard input, one JSON value a line: first ``{"models_dir": str | null, "threads": int,
"cache_dir": str, "fingerprint": str}`` (``cache_dir`` is the cascade's cache folder of this
model set, whose ``fingerprint`` the child checks against the models it loads), then one
``[sha256, path]`` per photo. Standard output: one JSON line per photo as soon as it is done,
``{"key": sha256, "seconds": s}`` when written, ``{"key": sha256, "error": why}`` when not.
The parent may stop sending at any time (new photos came in); the child exits at the end of
its input. Exit status 0, or 2 when the models cannot be used.

It opens ALIKED only (the parent matches the pairs), each input size when a photo first needs
it, and works on two photos at once where that is faster and the memory is there
(:func:`photos_at_once`): answers may then come in another order than the photos, each
naming its photo.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

#: Memory free for a second photo's activations (ALIKED at 640x480: 0.6 GB an inference).
SECOND_PHOTO_MEMORY = 2 << 30


def available_memory() -> int | None:
    """Bytes of memory the system can give without swapping (``MemAvailable``); None when
    not known (not Linux)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def photos_at_once(threads: int, providers: list[str], free: int | None) -> int:
    """Photos the child works on at once: two, each on half the ``threads``, on a CPU-only
    onnxruntime with at least two threads and ``free`` memory for a second photo's
    activations (one ALIKED inference on one thread each is 15 % more photos a second than
    one on two threads: 0.47 s against 0.55 s a photo on 2 cores); else one on all of them
    (a GPU runs one at a time anyway)."""
    cpu_only = set(providers) <= {"CPUExecutionProvider"}
    return 2 if cpu_only and threads >= 2 and free is not None and free >= SECOND_PHOTO_MEMORY else 1


def main() -> int:
    import onnxruntime as ort

    from ..fileio import sharded_path
    from .thorough import cascade_image, save_features
    from .vision.cascade import AlikedLightGlue
    from .vision.models import ModelError

    job = json.loads(sys.stdin.readline() or "{}")
    threads = int(job.get("threads") or os.cpu_count() or 1)
    at_once = photos_at_once(threads, ort.get_available_providers(), available_memory())
    try:  # ALIKED only (the parent matches), each input size opened when a photo needs it
        matcher = AlikedLightGlue.from_manifest(job.get("models_dir"), threads=max(1, threads // at_once),
                                                load_matcher=False, lazy=True)
    except ModelError as e:
        print(f"cascade models unavailable: {e}", file=sys.stderr)
        return 2
    if matcher.fingerprint != job["fingerprint"]:
        print(f"cascade models differ from the parent's ({matcher.fingerprint} != {job['fingerprint']})",
              file=sys.stderr)
        return 2
    cache = Path(job["cache_dir"])
    said = threading.Lock()

    def answer(value: dict) -> None:
        with said:
            print(json.dumps(value), flush=True)

    def one(key: str, path: str) -> None:
        try:  # one photo's failure is that photo's: the rest still get their features
            rgb = cascade_image(path)
            if rgb is None:
                answer({"key": key, "error": "cannot be read"})
                return
            t = time.perf_counter()
            f = matcher.features(rgb)
            seconds = time.perf_counter() - t
            save_features(sharded_path(cache, key), f)
        except Exception as e:  # noqa: BLE001 - answered as an error line; the parent goes on
            answer({"key": key, "error": f"{type(e).__name__}: {e}"[:300]})
            return
        answer({"key": key, "seconds": seconds})

    with ThreadPoolExecutor(at_once) as pool:
        for line in sys.stdin:
            key, path = json.loads(line)
            pool.submit(one, key, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
