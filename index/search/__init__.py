"""The searches over the stored passages: dense (`vectors/`) and keyword (`keyword`), their backends
(`backend`: in this process, `indexes`; in PostgreSQL, `postgres_search`), and the scoring arithmetic (`scoring`)."""
