"""The question path, one stage per module: plan -> shortlist -> read -> quote (`pipeline` reads it in order)."""
