"""Open an engine on argv[2] and upload front matter nested 40,000 and then 7,000 levels deep,
printing REFUSED or ADDED (with the problems) for each."""
import asyncio, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from tests.support.engines import hashing_settings
from newsdesk.index import Engine

async def main():
    engine = await Engine.open(settings=hashing_settings(Path(sys.argv[2])))
    # 40,000 levels (an 80 kB upload) overflowed the C stack of PyYAML's C loader;
    # 7,000 levels (14 kB) stay under any cap on the front matter's size and reach the parser.
    for n in (40_000, 7_000):
        data = b"---\ntitle: " + b"[" * n + b"]" * n + b"\n---\nThe bridge reopened on Monday.\n"
        report = await engine.ingest_document(data, "deep.md", scope="123", strict=True)
        print("REFUSED" if report.refused else "ADDED", *map(str, report.problems), flush=True)
    await engine.close()

asyncio.run(main())
