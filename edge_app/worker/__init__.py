"""The background worker: the one :class:`~edge_app.engine.pipeline.Pipeline` of the process.

It takes the photos the doors stored (state ``waiting``), analyses them, puts each into a
site and places it with the engine's online assignment, so the page fills up while an
upload is still running. When a batch has finished arriving and every photo of it is
analysed, it regroups the batch's sites with the full engine, keeping every person's edit
(see :mod:`edge_app.store.spots` for the rules it obeys). Each change is written in one
short transaction. It calls the engine only through its ``Pipeline`` and the store only
through the store's functions.

    w = Worker("edge-data")
    w.run_until_idle()          # what `edge-app add` does when no server is running
    w.start()                   # a thread, as `edge-app serve` does; w.wake() on new photos

    loop.py        Worker: the loop and its heartbeat, one step, the analyses kept at hand,
                   batches (finished when idle, regrouped when all analysed)
    placing.py     which site new photos go to; one new photo into a spot (online placement)
    regrouping.py  a site regrouped with people's edits kept; the thorough pass's review flags

Each job reads the store in one call, asks the engine, and writes its answer in one call
and one transaction (:func:`edge_app.store.spots.engine_view`, then
:func:`edge_app.store.spots.write_engine_plan`, which raises :class:`RegroupStale` and writes
nothing when a person changed the site meanwhile: the worker judges again).

Its knobs (batch idle time, photos a step, heartbeat, analyses kept, ...) are the
``worker.*`` settings of :mod:`edge_app.app_settings` (docs/settings.md).
"""

from .loop import StepReport, Worker, worker_alive
from ..store.spots import RegroupStale

__all__ = ["Worker", "worker_alive", "StepReport", "RegroupStale"]
