"""Questions that arrive together share encoder calls, and each gets its own vector back."""

import asyncio

import numpy as np
import pytest

from newsdesk.index.models.batching import QuestionBatcher


class RecordingEncoder:
    def __init__(self, fail_on: str | None = None):
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    async def __call__(self, texts):
        self.calls.append(list(texts))
        await asyncio.sleep(0.01)  # the encoder is busy: others arrive meanwhile
        if self.fail_on in texts:
            raise RuntimeError("encoder broke")
        return np.array([[float(len(t)), float(i)] for i, t in enumerate(texts)])


async def test_a_burst_of_questions_is_encoded_in_few_calls_each_getting_its_own_vector():
    encoder = RecordingEncoder()
    batcher = QuestionBatcher(encoder, max_batch=8)
    questions = [f"question {'x' * n}" for n in range(20)]
    vectors = await asyncio.gather(*(batcher.encode(q) for q in questions))
    assert [v[0] for v in vectors] == [float(len(q)) for q in questions]
    assert sorted(q for call in encoder.calls for q in call) == sorted(questions)
    assert [len(call) for call in encoder.calls] == [8, 8, 4]


async def test_an_encoder_error_reaches_its_batch_and_later_questions_still_work():
    encoder = RecordingEncoder(fail_on="bad")
    batcher = QuestionBatcher(encoder)
    first = asyncio.create_task(batcher.encode("first"))
    await asyncio.sleep(0)
    bad, good = batcher.encode("bad"), batcher.encode("good")
    results = await asyncio.gather(bad, good, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert (await first)[0] == 5.0
    assert (await batcher.encode("again"))[0] == 5.0


async def test_a_cancelled_asker_does_not_stop_the_others():
    encoder = RecordingEncoder()
    batcher = QuestionBatcher(encoder)
    first = asyncio.create_task(batcher.encode("first"))
    await asyncio.sleep(0)
    doomed = asyncio.create_task(batcher.encode("doomed"))
    kept = asyncio.create_task(batcher.encode("kept"))
    await asyncio.sleep(0)
    doomed.cancel()
    assert (await kept)[0] == 4.0 and (await first)[0] == 5.0
    with pytest.raises(asyncio.CancelledError):
        await doomed
