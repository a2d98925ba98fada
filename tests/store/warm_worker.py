"""A worker whose models are loaded once per test module (``models_worker``, in
``conftest.py``), pointed at each test's own data folder (:func:`worker_for`)."""

from collections import OrderedDict

from edge_app.worker import Worker


def warm_worker(root) -> Worker:
    """A Worker over ``root`` with its models loaded."""
    w = Worker(root)
    w.pipeline.analyzer.load_models()
    return w


def worker_for(models_worker: Worker, root) -> Worker:
    """A worker over the data folder ``root`` that shares ``models_worker``'s loaded models
    (no feature or pair cache carried over)."""
    w = Worker.__new__(Worker)
    w.__dict__.update(models_worker.__dict__)
    w.root, w._st, w._analyses, w.refine_pending, w._previews_after = root, None, OrderedDict(), set(), 0
    w.pipeline.analyzer.cache = w._shelf = None
    w.pipeline.pair_cache = {}
    return w
