"""The dense index's interface: what the live indexes ask of any backend."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Protocol

import numpy as np

from ..scopes import ScopeFilter


class VectorIndex(Protocol):
    """Inner-product search over normalised vectors, with add and remove by passage id."""

    dim: int

    @property
    def kind(self) -> str: ...

    @property
    def lists(self) -> int:
        """Inverted lists (0 for an index without them)."""

    @property
    def training_size(self) -> int:
        """How many sample vectors `train` wants (0: no training needed)."""

    def train(self, sample: np.ndarray) -> None: ...

    def __len__(self) -> int: ...

    def ids(self) -> np.ndarray:
        """Every passage id in the index, in no particular order."""

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None: ...

    def remove(self, ids: Iterable[int]) -> None: ...

    def search(self, query: np.ndarray, k: int, within: ScopeFilter | None = None) -> list[tuple[int, float]]:
        """The k nearest passages to query, best first, optionally only among those a scope filter allows."""

    def save(self, path: Path) -> None:
        """Write atomically: a crash leaves the old file or the new one."""
