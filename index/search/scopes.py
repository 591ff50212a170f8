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
        """From passage ids grouped by scope (one sort, however many scopes: this runs at start-up)."""
        scopes = cls()
        scopes._code_of = {scope: code for code, scope in enumerate(groups)}
        if groups:
            codes = [np.full(len(ids), scopes._code_of[scope], dtype=np.int32) for scope, ids in groups.items()]
            scopes._extend(np.concatenate(list(groups.values())).astype(np.int64), np.concatenate(codes))
        return scopes

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, ids: Iterable[int], scope: str) -> None:
        ids = np.fromiter(ids, dtype=np.int64)
        code = self._code_of.setdefault(scope, len(self._code_of))
        self._extend(ids, np.full(len(ids), code, dtype=np.int32))

    def _extend(self, ids: np.ndarray, codes: np.ndarray) -> None:
        """Append ids with their codes, keeping ids ascending (new passages' ids usually follow the old)."""
        in_order = (ids[1:] > ids[:-1]).all() and (not len(self.ids) or not len(ids) or ids[0] > self.ids[-1])
        self.ids = np.concatenate([self.ids, ids])
        self._codes = np.concatenate([self._codes, codes])
        if not in_order:
            order = np.argsort(self.ids, kind="stable")
            self.ids, self._codes = self.ids[order], self._codes[order]

    def remove(self, ids: Iterable[int]) -> None:
        keep = ~np.isin(self.ids, np.fromiter(ids, dtype=np.int64))
        self.ids, self._codes = self.ids[keep], self._codes[keep]

    def filter(self, scopes: Iterable[str] | None, only: np.ndarray | None = None) -> ScopeFilter | None:
        """Which passages are in scopes (None: any) and among `only` (None: any); None when that is every passage."""
        if scopes is None and only is None:
            return None
        inside = np.ones(len(self.ids), dtype=bool)
        if scopes is not None:
            inside &= np.isin(self._codes, [self._code_of[s] for s in set(scopes) if s in self._code_of])
        if only is not None:
            inside &= np.isin(self.ids, only)
        return None if inside.all() else ScopeFilter(self.ids[inside], self.ids[~inside])
