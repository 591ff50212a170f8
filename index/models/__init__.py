"""The models run at ingest and question time: the embedders (`embedding`, run by `encoders`), the reader
(`reader`, its files in `reader/`) and the language identifier (`language`)."""
