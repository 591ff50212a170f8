"""Which scope (global, or a Discord server) each indexed passage belongs to.

Kept as two arrays rather than a dict, so a million passages cost a few MB and a
scope filter is one vectorised pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np


@dataclass(frozen=True)
class ScopeFilter:
    """The passages a question may see (ascending ids) and the rest, whichever a search filters by more cheaply."""

    allowed: np.ndarray
    excluded: np.ndarray

    @property
    def share(self) -> float:
        """The allowed share of all passages."""
        return len(self.allowed) / max(1, len(self.allowed) + len(self.excluded))


class PassageScopes:
    """Passage ids (ascending) with a scope code each."""

    def __init__(self) -> None:
        self.ids = np.zeros(0, dtype=np.int64)
        self._codes = np.zeros(0, dtype=np.int32)
        self._code_of: dict[str, int] = {}

    @classmethod
    def from_groups(cls, groups: dict[str, np.ndarray]) -> "PassageScopes":
        """From passage ids grouped by scope."""
        scopes = cls()
        for scope, ids in groups.items():
            scopes.add(ids, scope)
        return scopes

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, ids: Iterable[int], scope: str) -> None:
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        code = self._code_of.setdefault(scope, len(self._code_of))
        self.ids = np.concatenate([self.ids, ids])
        self._codes = np.concatenate([self._codes, np.full(len(ids), code, dtype=np.int32)])
        if len(self.ids) > 1 and not (self.ids[1:] > self.ids[:-1]).all():
            order = np.argsort(self.ids, kind="stable")
            self.ids, self._codes = self.ids[order], self._codes[order]

    def remove(self, ids: Iterable[int]) -> None:
        keep = ~np.isin(self.ids, np.fromiter(ids, dtype=np.int64))
        self.ids, self._codes = self.ids[keep], self._codes[keep]

    def filter(self, scopes: Iterable[str] | None) -> ScopeFilter | None:
        """Which passages are in scopes; None when that is every passage (no filter needed)."""
        if scopes is None:
            return None
        codes = [self._code_of[s] for s in set(scopes) if s in self._code_of]
        inside = np.isin(self._codes, codes)
        return None if inside.all() else ScopeFilter(self.ids[inside], self.ids[~inside])
