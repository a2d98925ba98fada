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
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> int:
    from ..fileio import sharded_path
    from .thorough import cascade_image, save_features
    from .vision.cascade import AlikedLightGlue
    from .vision.models import ModelError

    job = json.loads(sys.stdin.readline() or "{}")
    try:
        matcher = AlikedLightGlue.from_manifest(job.get("models_dir"), threads=job.get("threads") or None)
    except ModelError as e:
        print(f"cascade models unavailable: {e}", file=sys.stderr)
        return 2
    if matcher.fingerprint != job["fingerprint"]:
        print(f"cascade models differ from the parent's ({matcher.fingerprint} != {job['fingerprint']})",
              file=sys.stderr)
        return 2
    cache = Path(job["cache_dir"])
    for line in sys.stdin:
        key, path = json.loads(line)
        try:  # one photo's failure is that photo's: the rest still get their features
            rgb = cascade_image(path)
            if rgb is None:
                print(json.dumps({"key": key, "error": "cannot be read"}), flush=True)
                continue
            t = time.perf_counter()
            f = matcher.features(rgb)
            seconds = time.perf_counter() - t
            save_features(sharded_path(cache, key), f)
        except Exception as e:  # noqa: BLE001 - answered as an error line; the parent goes on
            print(json.dumps({"key": key, "error": f"{type(e).__name__}: {e}"[:300]}), flush=True)
            continue
        print(json.dumps({"key": key, "seconds": seconds}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
