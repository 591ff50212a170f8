"""The reader: a cross-encoder that reads the question and a passage together.

Every other model on the question path sees the question and the passage apart (the
embedder, BM25); the reader reads them as one input, so it can tell the paragraph that
answers "why does Russia oppose the missile shield?" from one that only shares its words.
`bench/train_reader.py` trains it from SQuAD v1.1 train and exports it as int8 ONNX, with its
card, into `index/models/reader/` (none ships yet: bench/RESULTS.md); it runs here through
onnxruntime and tokenizers, with no torch import.

The model file is checked against the sha256 pinned in `[reader] sha256` before it is
loaded: a file that differs (damaged, replaced) is refused with `ReaderUnavailableError`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import NewsdeskError

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
# Pairs scored in one call: a question's shortlist is one batch; larger lists (a timeline's) go in several.
BATCH = 16


class ReaderUnavailableError(NewsdeskError):
    """The reader's files are missing or are not the pinned model."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Reader:
    """Scores (question, passage) pairs: a logit, higher when the passage answers the question."""

    def __init__(self, folder: Path, sha256: str, *, max_tokens: int = 256, threads: int = 0):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model, tokenizer = folder / MODEL_FILE, folder / TOKENIZER_FILE
        for path in (model, tokenizer):
            if not path.is_file():
                raise ReaderUnavailableError(f"the reader's {path.name} is missing from {folder}")
        actual = file_sha256(model)
        if actual != sha256:
            raise ReaderUnavailableError(
                f"the reader at {model} is not the pinned model (sha256 {actual[:16]}..., expected {sha256[:16]}...); "
                "reinstall newsdesk, or set [reader] sha256 to the model you trust"
            )
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_truncation(max_tokens, strategy="only_second")
        self._tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}

    def logits(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """One logit a passage, in order (an empty list gives an empty array)."""
        out = [self._batch(question, passages[i : i + BATCH]) for i in range(0, len(passages), BATCH)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def _batch(self, question: str, passages: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch([(question, p) for p in passages])
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0].reshape(-1)
