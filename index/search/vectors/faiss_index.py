"""The FAISS backend of the dense index, keyed by passage id, persisted next to the database.

Two kinds. `flat` scans every vector: exact, and fast while the store is small. `ivf`
is an inverted file of 8-bit scalar-quantised codes (IVF-SQ8): it scans only the lists
nearest the question and keeps a quarter of flat's memory, at the price of approximate
scores and a training pass (k-means) when built. The engine re-scores the candidates
either kind returns with the exact stored vectors, so only recall depends on the kind.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterable

import faiss
import numpy as np

from ..scopes import ScopeFilter

FLAT, IVF = "flat", "ivf"
KINDS = (FLAT, IVF)

# FAISS's k-means wants at least 39 training points a list; more than 64 barely helps.
MIN_TRAINING_POINTS_PER_LIST = 39
TRAINING_POINTS_PER_LIST = 64


def prepare_search_thread() -> None:
    """Give the thread that searches one OpenMP thread (OpenMP settings are per thread).

    Splitting one question's scan over both cores made it 10-20x slower whenever the other
    core was busy (flat, 10k passages: 0.7 ms on one thread, 14 ms on two). Index builds,
    which do parallelise, run in threads of their own with the default.
    """
    faiss.omp_set_num_threads(1)


def ivf_lists(passages: int) -> int:
    """Inverted lists for a store of this size: the usual 4 * sqrt(n), each with enough training points."""
    return int(max(1, min(65_536, 4 * math.sqrt(passages), passages // MIN_TRAINING_POINTS_PER_LIST)))


class FaissIndex:
    """Inner-product search over normalised vectors, with add and remove by passage id."""

    def __init__(self, dim: int, index: faiss.Index, nprobe: int = 32):
        self.dim = dim
        self._index = index
        self.nprobe = nprobe

    @classmethod
    def empty(cls, dim: int, kind: str = FLAT, expected_passages: int = 0, nprobe: int = 32) -> "FaissIndex":
        """A new index; an `ivf` one must be trained (see `training_size`) before vectors are added."""
        if kind == FLAT:
            return cls(dim, faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), nprobe)
        if kind != IVF:
            raise ValueError(f"unknown vector index kind {kind!r}; use one of {', '.join(KINDS)}")
        index = faiss.index_factory(dim, f"IVF{ivf_lists(expected_passages)},SQ8", faiss.METRIC_INNER_PRODUCT)
        return cls(dim, index, nprobe)

    @classmethod
    def load(cls, path: Path, dim: int, nprobe: int = 32) -> "FaissIndex | None":
        """The index stored at path, or None if it is missing, unreadable or of another size."""
        try:
            index = faiss.read_index(str(path))
        except (RuntimeError, OSError):
            return None
        if index.d != dim or not isinstance(index, (faiss.IndexIDMap2, faiss.IndexIVFScalarQuantizer)):
            return None
        return cls(dim, index, nprobe)

    def save(self, path: Path) -> None:
        """Write atomically: a crash leaves the old file or the new one, never half of one."""
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self._index, str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @property
    def kind(self) -> str:
        return IVF if isinstance(self._index, faiss.IndexIVF) else FLAT

    @property
    def lists(self) -> int:
        """Inverted lists (0 for flat)."""
        return self._index.nlist if isinstance(self._index, faiss.IndexIVF) else 0

    @property
    def training_size(self) -> int:
        """How many sample vectors `train` wants (0: no training needed)."""
        return self.lists * TRAINING_POINTS_PER_LIST if not self._index.is_trained else 0

    def train(self, sample: np.ndarray) -> None:
        self._index.train(np.ascontiguousarray(sample, dtype=np.float32))

    def __len__(self) -> int:
        return self._index.ntotal

    def ids(self) -> np.ndarray:
        """Every passage id in the index, in no particular order."""
        if isinstance(self._index, faiss.IndexIDMap2):
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)
        lists = self._index.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(number), lists.list_size(number)).copy()
            for number in range(lists.nlist)
            if lists.list_size(number)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def remove(self, ids: Iterable[int]) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        if len(ids):
            self._index.remove_ids(faiss.IDSelectorBatch(ids))

    def search(self, query: np.ndarray, k: int, within: ScopeFilter | None = None) -> list[tuple[int, float]]:
        """The k nearest passages to query, optionally only among those a scope filter allows.

        Returns:
            (passage id, similarity) pairs, best first; approximate for `ivf`.
        """
        if len(self) == 0 or k <= 0:
            return []
        selector = None
        if within is not None:
            if len(within.allowed) == 0:
                return []
            # FAISS hashes the id list per search: hash whichever side is shorter.
            if len(within.allowed) <= len(within.excluded):
                selector = faiss.IDSelectorBatch(within.allowed)
            else:
                selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(within.excluded))
        if self.kind == IVF:
            # A scope holding a small share of the passages has few of them in any one
            # list: probe proportionally more lists, so about as many allowed vectors are
            # scanned as an unrestricted search scans.
            share = within.share if within is not None else 1.0
            nprobe = min(self.lists, math.ceil(self.nprobe / max(share, 1e-9)))
            params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        scores, ids = self._index.search(query.reshape(1, -1).astype(np.float32), min(k, len(self)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
