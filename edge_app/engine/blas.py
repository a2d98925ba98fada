"""Matrix products on the number of BLAS threads that pays for them.

Verification runs in parallel over pairs, not inside each product, and small products
cost less than waking OpenBLAS's threads.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import ThreadpoolController

_blas: ThreadpoolController | None = None


def one_blas_thread():
    """Context: BLAS on one thread (verification runs in parallel over pairs, not inside
    each matrix product). The libraries are looked up once per process (milliseconds)."""
    global _blas
    if _blas is None:
        _blas = ThreadpoolController()
    return _blas.limit(limits=1)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b, on one BLAS thread when the product is small: waking OpenBLAS's threads
    costs milliseconds a call (30 x 1280 x 30: 23 ms threaded vs 0.13 ms on one thread,
    measured on a busy 2-core machine), more than a small product itself."""
    if a.shape[0] * a.shape[-1] * (b.shape[-1] if b.ndim > 1 else 1) >= 1 << 24:
        return a @ b
    with one_blas_thread():
        return a @ b
