"""The dense index: one interface (`base.VectorIndex`), the FAISS backend, and the factory choosing its kind."""

from . import factory
from .base import VectorIndex
from .faiss_index import FLAT, IVF, KINDS, FaissIndex, ivf_lists, prepare_search_thread

__all__ = ["FLAT", "IVF", "KINDS", "FaissIndex", "VectorIndex", "factory", "ivf_lists", "prepare_search_thread"]
