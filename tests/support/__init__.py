"""What the tests share that is not a test: a support library, imported explicitly.

Fixtures live in conftest.py files (pytest finds them); the plain helpers they and the tests use
live here, one module per concern, so that `bench/` can import them too:

- `fake_discord/`: a loopback Discord (REST and gateway) that the real discord.py client talks to,
  and `run_bot`, which connects a client to it;
- `feed_server/`: a loopback HTTP server of feeds, article pages and hostile answers;
- `postgres_server`: a real PostgreSQL with pgvector in a temporary folder;
- `engines`: settings for a fast engine (the hashing embedder), the small articles the tests share,
  reading the store directly;
- `discord_bot`: the real bot on such an engine against the fake Discord, reading what it sent, and
  what admins do (uploads, feeds);
- `processes`: `newsdesk run` in a process of its own, stopped with Ctrl-C;
- `dated_news`: articles with dates, for the tests of time and of follows;
- `faults`, `special_files` (with `hostile_files/`), `scripts/`: the fault tests' looks at the store,
  hostile and special files, and the child processes they run;
- `reader_model`: an untrained reader exported as the real one is.
"""
