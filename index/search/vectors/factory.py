"""Picks the dense index for a store from config (`[vectors]`), as txtai's ann/factory.py does.

The factory owns the choice of kind: `auto` is exact (flat) below `ivf_from` passages
and IVF from there, and an index the store has outgrown is rebuilt.
"""

from __future__ import annotations

from pathlib import Path

from ...settings import VectorSettings
from .base import VectorIndex
from .faiss_index import FLAT, IVF, FaissIndex, ivf_lists


def kind_for(settings: VectorSettings, passages: int) -> str:
    """The kind of index a store of this many passages wants."""
    if settings.kind == "auto":
        return IVF if passages >= settings.ivf_from else FLAT
    return settings.kind


def create(dim: int, settings: VectorSettings, passages: int) -> VectorIndex:
    """A new, empty index of the kind a store of this many passages wants (an ivf one must be trained)."""
    return FaissIndex.empty(dim, kind_for(settings, passages), passages, settings.nprobe)


def load(path: Path, dim: int, settings: VectorSettings) -> VectorIndex | None:
    """The index saved at path, or None if it is missing, unreadable or of another size."""
    return FaissIndex.load(path, dim, settings.nprobe)


def outgrown(index: VectorIndex, settings: VectorSettings, passages: int) -> bool:
    """Whether the index's kind no longer suits the store's size (ivf: lists off by 2x or more)."""
    if index.kind != kind_for(settings, passages):
        return True
    return index.kind == IVF and not index.lists / 2 < ivf_lists(passages) < index.lists * 2
