"""How the engine's threads share the cores with the libraries' own.

The engine runs photos (analysis) and pairs (verification) side by side on its worker
threads. Meanwhile OpenCV's own thread pool only competes with them (its threads spin while
they wait for work), and a worker back from C code (a decode, an inference) should not wait
long for the GIL while another thread runs Python (loading the models, importing, grouping).
:func:`side_by_side` sets both for as long as such work runs; nothing it changes alters a
result (OpenCV splits an image by rows, each row computed the same way).
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import Callable

import cv2

#: The interpreter's switch interval while the engine's threads run side by side (Python's
#: default: 5 ms, which a thread back from C code may wait for the GIL).
GIL_SWITCH_S = 0.0005


class ProcessSetting:
    """A setting of the whole process (read by ``getter``, written by ``setter``), changed while
    at least one caller of :meth:`changed` needs it: the first to enter changes it, the last
    to leave puts back what it was. Thread-safe."""

    def __init__(self, getter: Callable[[], object], setter: Callable[[object], None]):
        self._get, self._set = getter, setter
        self._lock = threading.Lock()
        self._users = 0
        self._before: object = None

    @contextmanager
    def changed(self, value):
        """Context: the setting at ``value`` (if this caller is the first in)."""
        with self._lock:
            if self._users == 0:
                self._before = self._get()
                self._set(value)
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._set(self._before)


_GIL_SWITCH = ProcessSetting(sys.getswitchinterval, sys.setswitchinterval)
_OPENCV_THREADS = ProcessSetting(cv2.getNumThreads, cv2.setNumThreads)


@contextmanager
def side_by_side(workers: int):
    """Context: the engine's work runs on ``workers`` threads side by side; with more than
    one, OpenCV keeps to the calling thread and the GIL changes hands every
    :data:`GIL_SWITCH_S` at most. Nothing changes for one worker."""
    if workers <= 1:
        yield
        return
    with _GIL_SWITCH.changed(min(GIL_SWITCH_S, sys.getswitchinterval())), _OPENCV_THREADS.changed(1):
        yield
