"""Open an engine on argv[2] and ingest the files argv[3:] one call each, printing DONE <name>.

The parent writes one line to stdin per file it lets the child start. WRITING <name> is
printed as each chunk's write begins (its transaction, then the index update and save), and
COMMITTED <name> once its transaction is committed, so that the parent can aim kills at
that short window: a file whose articles are all stored already writes nothing.

KILL_AT="<point>:<n>" makes the process SIGKILL itself the n-th time it reaches <point>:
  in-transaction  inside a chunk's transaction, after its embeddings are inserted
  before-index    after a chunk's articles are committed, before the vector index is updated
  index-written   after the new index is written to its temporary file, before the rename
CHUNK_CHARS=<n> stores a file n characters of articles at a time (default: the config's).
"""
import asyncio, os, signal, sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from tests.support.engines import hashing_settings
from newsdesk.index import Engine
import newsdesk.index.search.indexes as indexes_module
import newsdesk.index.store.sqlite as store_module
import newsdesk.index.search.vectors.faiss_index as vectors_module

point, _, nth = os.environ.get("KILL_AT", "").partition(":")
reached = 0
ingesting = ""  # the name of the file being ingested


def maybe_die(name):
    global reached
    if name == point:
        reached += 1
        if reached == int(nth):
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)


add_articles = store_module.SqliteStore.add_articles


async def _add_articles(self, *a, **k):
    print("WRITING", ingesting, flush=True)
    stored = await add_articles(self, *a, **k)
    print("COMMITTED", ingesting, flush=True)
    return stored


store_module.SqliteStore.add_articles = _add_articles

if point:
    insert_embeddings = store_module.SqliteStore._insert_embeddings
    indexes_add = indexes_module.LiveIndexes.add
    write_index = vectors_module.faiss.write_index

    async def _insert_embeddings(self, *a, **k):
        await insert_embeddings(self, *a, **k)
        maybe_die("in-transaction")

    async def _indexes_add(self, *a, **k):
        maybe_die("before-index")
        await indexes_add(self, *a, **k)

    def _write_index(*a, **k):
        write_index(*a, **k)
        maybe_die("index-written")

    store_module.SqliteStore._insert_embeddings = _insert_embeddings
    indexes_module.LiveIndexes.add = _indexes_add
    vectors_module.faiss.write_index = _write_index


async def main():
    global ingesting
    settings = hashing_settings(Path(sys.argv[2]))
    if os.environ.get("CHUNK_CHARS"):
        settings = replace(settings, corpus=replace(settings.corpus, chunk_chars=int(os.environ["CHUNK_CHARS"])))
    engine = await Engine.open(settings=settings)
    from newsdesk.index.ingest.passages import sentence_spans
    sentence_spans("Warm up the lazy imports. So that kills land in ingests.")
    print("READY", flush=True)
    for name in sys.argv[3:]:
        if not sys.stdin.readline():  # one line from the parent per file: it paces the kills
            break
        ingesting = Path(name).name
        await engine.ingest_paths([name])
        print("DONE", Path(name).name, flush=True)
    await engine.close()
    print("FINISHED", flush=True)


asyncio.run(main())
