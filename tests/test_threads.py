"""side_by_side: OpenCV on one thread and a short GIL switch interval while the engine's
workers run, put back after (issue 20, the cold CLI)."""

from __future__ import annotations

import sys

import cv2

from edge_app.engine.threads import GIL_SWITCH_S, ProcessSetting, side_by_side


def test_side_by_side_changes_both_and_puts_them_back():
    before = (sys.getswitchinterval(), cv2.getNumThreads())
    with side_by_side(2):
        assert sys.getswitchinterval() <= GIL_SWITCH_S
        assert cv2.getNumThreads() == 1
        with side_by_side(4):  # nested: still changed
            assert cv2.getNumThreads() == 1
        assert cv2.getNumThreads() == 1
    assert (sys.getswitchinterval(), cv2.getNumThreads()) == before


def test_one_worker_changes_nothing():
    before = (sys.getswitchinterval(), cv2.getNumThreads())
    with side_by_side(1):
        assert (sys.getswitchinterval(), cv2.getNumThreads()) == before


def test_the_last_caller_out_puts_the_setting_back():
    value = {"v": "old"}
    setting = ProcessSetting(lambda: value["v"], lambda v: value.update(v=v))
    first, second = setting.changed("new"), setting.changed("newer")
    first.__enter__()
    second.__enter__()
    assert value["v"] == "new"  # the first caller in decides
    first.__exit__(None, None, None)
    assert value["v"] == "new"  # one caller still needs it
    second.__exit__(None, None, None)
    assert value["v"] == "old"
