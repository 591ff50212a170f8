"""Which passages a question may see: the passages' scopes (`scopes.PassageScopes`), and the filters and
keyword masks made from them, cached: a server asks again and again."""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterable

import numpy as np

from .keyword import KeywordIndex
from .scopes import PassageScopes, ScopeFilter

# Per set of scopes: the keyword index a mask belongs to, the passages allowed (None: all), and the mask.
_Entry = tuple[KeywordIndex, ScopeFilter | None, np.ndarray | None]


class ScopeFilters:
    """The indexed passages' scopes, and the filters for a question's scopes (and `only`), cached."""

    def __init__(self, cache_mb: float):
        self._cache_mb = cache_mb
        self._scopes = PassageScopes()
        # Per set of scopes: the passages allowed (None: all), and a keyword index's 0/1 mask for them;
        # the least recently used go first past cache_mb (a thousand servers would not fit).
        self._cache: OrderedDict[frozenset[str], _Entry] = OrderedDict()
        self._cache_bytes = 0
        # The last filter narrowed by `only`: (only, scopes, keyword index, filter, mask).
        self._only_filter: tuple | None = None

    @property
    def ids(self) -> np.ndarray:
        """Every indexed passage's id, ascending."""
        return self._scopes.ids

    def __len__(self) -> int:
        return len(self._scopes)

    def load(self, groups: dict[str, np.ndarray]) -> None:
        """Start over from passage ids grouped by scope (the store's)."""
        self._scopes = PassageScopes.from_groups(groups)
        self._clear()

    def add(self, passage_ids: list[int], scope: str) -> None:
        self._scopes.add(passage_ids, scope)
        self._clear()

    def remove(self, passage_ids: list[int]) -> None:
        self._scopes.remove(passage_ids)
        self._clear()

    def filter(
        self, scopes: Iterable[str] | None, keyword: KeywordIndex, only: np.ndarray | None = None
    ) -> tuple[ScopeFilter | None, np.ndarray | None]:
        """The passages within scopes (and among `only`, when given: a date range's, an article's), and the
        keyword index's 0/1 mask for them (None, None: everything).

        Scope filters are cached (a server asks again and again); filters narrowed by `only` change with
        every question, so only the last one is kept: a question's keyword and dense searches share it."""
        key = None if scopes is None else frozenset(scopes)
        if only is not None:
            last = self._only_filter  # holds `only` itself, so `is` cannot match a new array at a reused address
            if last is None or last[0] is not only or last[1] != key or last[2] is not keyword:
                within = self._scopes.filter(key, only)
                last = (only, key, keyword, within, keyword.mask_for(within.allowed) if within is not None else None)
                self._only_filter = last
            return last[3], last[4]
        if key is None:
            return None, None
        cached = self._cache.get(key)
        if cached is None or cached[0] is not keyword:  # the mask belongs to one keyword index
            within = self._scopes.filter(key)
            cached = (keyword, within, keyword.mask_for(within.allowed) if within is not None else None)
            self._cache_entry(key, cached)
        self._cache.move_to_end(key)
        return cached[1], cached[2]

    def _cache_entry(self, key: frozenset[str], entry: _Entry) -> None:
        if key in self._cache:
            self._cache_bytes -= _entry_bytes(self._cache.pop(key))
        self._cache[key] = entry
        self._cache_bytes += _entry_bytes(entry)
        while self._cache_bytes > self._cache_mb * 2**20 and len(self._cache) > 1:
            self._cache_bytes -= _entry_bytes(self._cache.popitem(last=False)[1])

    def _clear(self) -> None:
        self._only_filter = None
        self._cache.clear()
        self._cache_bytes = 0


def _entry_bytes(entry: _Entry) -> int:
    _, within, mask = entry
    return (within.allowed.nbytes + within.excluded.nbytes if within is not None else 0) + (
        mask.nbytes if mask is not None else 0
    )
