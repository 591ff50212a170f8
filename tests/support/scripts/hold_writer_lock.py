"""Open an engine as the writer of argv[2], ingest the jsonl file argv[3], print READY, and
hold the store (and its writer lock) until stdin closes."""
import asyncio, sys
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from tests.support.engines import hashing_settings
from newsdesk.index import Engine


async def main():
    async with await Engine.open(settings=hashing_settings(Path(sys.argv[2]))) as engine:
        await engine.ingest_paths([sys.argv[3]])
        print("READY", flush=True)
        await asyncio.to_thread(sys.stdin.read)


asyncio.run(main())
