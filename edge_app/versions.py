"""The versions of the libraries whose numbers feed the grouping, for ``edge-app --version``,
``edge-app models`` and every eval figure (issue 21: the same photos could be grouped
differently after an install pulled a newer OpenCV, or on a CPU whose int8 arithmetic
differs). The app installs them from ``requirements/app.lock``.
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata

#: (shown name, module, distributions that may provide it): onnxruntime may come as the
#: GPU build on a Jetson, OpenCV as the full or the headless wheel.
ENGINE_LIBS = (
    ("numpy", "numpy", ("numpy",)),
    ("onnxruntime", "onnxruntime", ("onnxruntime", "onnxruntime-gpu")),
    ("opencv", "cv2", ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless")),
    ("scikit-learn", "sklearn", ("scikit-learn",)),
    ("scipy", "scipy", ("scipy",)),
    ("pillow", "PIL", ("pillow",)),
)


def _dist_version(names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def engine_versions() -> dict[str, str]:
    """{library: version} of what is installed (from the package metadata, without
    importing the libraries), plus ``python`` and ``int8`` (:func:`int8_arithmetic`)."""
    out = {shown: _dist_version(dists) or "absent" for shown, _module, dists in ENGINE_LIBS}
    out["python"] = platform.python_version()
    out["int8"] = int8_arithmetic()
    return out


def int8_arithmetic(cpuinfo: str | None = None) -> str:
    """How this CPU runs the models' int8 layers: every way is exact since issue 21
    (``edge_app.engine.vision.models.EXACT_INT8``); said so the figures name what ran them.
    ``cpuinfo``: the text of /proc/cpuinfo (read when None)."""
    machine = platform.machine().lower()
    if machine in ("aarch64", "arm64"):
        return "arm64 (exact)"
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                cpuinfo = f.read(1 << 16)
        except OSError:
            return f"{machine or 'unknown'}"
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    if flags & {"avx512_vnni", "avx_vnni", "amx_int8"}:
        return "x86 VNNI (exact)"
    if "avx2" in flags:
        return "x86 AVX2 without VNNI (exact: uint8 x uint8 kernels)"
    return f"{machine or 'unknown'}"


def describe() -> str:
    """One line: ``edge-app 0.1.0 · numpy 2.4.6 · onnxruntime 1.32.0 · ...``."""
    from . import __version__

    v = engine_versions()
    libs = " · ".join(f"{name} {v[name]}" for name, _m, _d in ENGINE_LIBS)
    return f"edge-app {__version__} · {libs} · Python {v['python']} · int8: {v['int8']}"


if __name__ == "__main__":  # python -m edge_app.versions
    print(describe(), file=sys.stdout)
