"""The write path: files, uploads and feed entries read, split into passages, embedded and stored (`writer`)."""
