"""The sentence embedder and the question encoder at run time: loaded on first use, each in a thread of its own.

Questions that arrive together are encoded in one call (`batching`); ingest's sentences
go through the embedder. Neither blocks the event loop, and a question never
waits behind an upload's embedding: the embedder's thread runs at background priority
(`worker`), the question encoder's at normal priority.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

import numpy as np

from .batching import QuestionBatcher
from .embedding import Embedder, create_embedder, create_query_encoder, model_identity
from ..settings import ModelSettings
from ..worker import background_executor

T = TypeVar("T")


class Encoders:
    """The configured model's embedder (ingest's sentences) and question encoder, in threads of their own."""

    def __init__(
        self, embedder_factory: Callable[[], Embedder], query_encoder_factory: Callable[[], Embedder], identity: str
    ):
        self.model_identity = identity
        self._embedder_factory = embedder_factory
        self._embedder: Embedder | None = None
        self._query_encoder_factory = query_encoder_factory
        self._query_encoder: Embedder | None = None
        self._question_pool = ThreadPoolExecutor(1, thread_name_prefix="newsdesk-question")
        # Loaded and run in its own thread, so that threads the model starts share its low priority.
        self._embed_pool = background_executor("newsdesk-embed")
        self._question_batcher = QuestionBatcher(self.encode_questions)

    @classmethod
    def from_settings(cls, m: ModelSettings) -> "Encoders":
        """The model `[model]` names, through the embedding factories."""
        options = {"allow_download": m.allow_download, "batch_size": m.batch_size}
        return cls(
            lambda: create_embedder(m.backend, m.name, onnx=m.onnx, **options),
            lambda: create_query_encoder(m.backend, m.name, m.onnx, **options),
            model_identity(m.backend, m.name),
        )

    @staticmethod
    async def _run(pool: ThreadPoolExecutor, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, fn)

    def _loaded_embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._embedder_factory()
        return self._embedder

    def _loaded_query_encoder(self) -> Embedder:
        if self._query_encoder is None:
            self._query_encoder = self._query_encoder_factory()
        return self._query_encoder

    async def load_question_encoder(self) -> None:
        await self._run(self._question_pool, self._loaded_query_encoder)

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts (ingest's sentences) with the configured model, a row each."""
        return await self._run(self._embed_pool, lambda: self._loaded_embedder().encode(texts))

    async def encode_questions(self, questions: Sequence[str]) -> np.ndarray:
        """Encode questions in one call, a row each."""
        return await self._run(self._question_pool, lambda: self._loaded_query_encoder().encode(questions))

    async def encode_question(self, question: str) -> np.ndarray:
        """One question's vector, encoded along with any questions waiting with it."""
        return await self._question_batcher.encode(question)

    def close(self) -> None:
        self._embed_pool.shutdown(wait=True)
        self._question_pool.shutdown(wait=True)
