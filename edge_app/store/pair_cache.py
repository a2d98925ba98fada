"""A SQLite pair cache for the engine's ``pair_cache`` slot, kept across restarts.

Reads go to memory first, then the table; writes are kept in memory and written in one
transaction by :meth:`SqlitePairCache.flush` (one fsync per regroup, not one per pair).
Keys are (sha256, sha256) in sorted order, as :func:`edge_app.engine.pairs.verify_candidates`
makes them; ``version`` ties the entries to the features and verification settings.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from ..engine.vision.verify import PairScore
from . import Store

#: Column of the pair_scores table -> PairScore field (the table keeps its first names:
#: the schema only grows; ``inliers`` holds the fundamental matrix's inliers).
_FIELDS = {"matches": "matches", "inliers": "inliers_f", "inliers_h": "inliers_h", "inlier_ratio": "inlier_ratio",
           "coverage_a": "coverage_a", "coverage_b": "coverage_b", "distinct_inliers": "distinct"}
_COLS = tuple(_FIELDS)


class SqlitePairCache(MutableMapping):
    def __init__(self, st: Store, version: str):
        self.st = st
        self.version = version
        self._mem: dict[tuple[str, str], PairScore] = {}
        self._dirty: dict[tuple[str, str], PairScore] = {}

    def __getitem__(self, key):
        hit = self._mem.get(key)
        if hit is not None:
            return hit
        row = self.st.one(f"SELECT {', '.join(_COLS)} FROM pair_scores WHERE version = ? AND a = ? AND b = ?",
                          (self.version, *key))
        if row is None:
            raise KeyError(key)
        sc = PairScore(**{_FIELDS[c]: v for c, v in zip(_COLS, row)})
        self._mem[key] = sc
        return sc

    def __setitem__(self, key, sc: PairScore) -> None:
        self._mem[key] = sc
        self._dirty[key] = sc

    def __delitem__(self, key) -> None:
        raise TypeError("pair scores are never deleted one by one")

    def __iter__(self):
        return iter(self._mem)

    def __len__(self) -> int:
        return len(self._mem)

    def flush(self) -> int:
        """Write the new entries; returns how many."""
        if not self._dirty:
            return 0
        rows = [(self.version, a, b, *(getattr(sc, _FIELDS[c]) for c in _COLS)) for (a, b), sc in self._dirty.items()]
        with self.st.write():
            self.st.conn.executemany(
                f"INSERT OR REPLACE INTO pair_scores (version, a, b, {', '.join(_COLS)}) "
                f"VALUES ({', '.join('?' * (3 + len(_COLS)))})", rows)
        n = len(self._dirty)
        self._dirty.clear()
        return n
