"""Build a tiny random-weight FunASR Paraformer folder (config.yaml, model.pt, tokens.json,
am.mvn) that FunASR's real ``AutoModel(model=DIR)`` loads offline. No Paraformer or SenseVoice
weights can be downloaded here; this exercises the real loading and inference path in tests.

    python -m tests.tiny_funasr <folder>"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import torch
import yaml

SPECIALS, UNK = ["<blank>", "<s>", "</s>"], "<unk>"  # ids 0-2 and the last id, as in the real vocabulary
VOCAB = [
    "你",
    "好",
    "会",
    "议",
    "今",
    "天",
    "讨",
    "论",
    "预",
    "算",
    "进",
    "度",
    "我",
    "们",
    "hello",
    "world",
    "meeting",
    "budget",
    "report",
    "team",
]
N_MELS, LFR_M, LFR_N = 80, 7, 6  # the frontend of the real paraformer-zh
D_MODEL = 32


def config() -> dict[str, Any]:
    return {
        "model": "BiCifParaformer",  # what paraformer-zh with timestamps is
        "model_conf": {
            "ctc_weight": 0.0,
            "lsm_weight": 0.1,
            "length_normalized_loss": True,
            "predictor_weight": 1.0,
            "predictor_bias": 1,
            "sampling_ratio": 0.75,
        },
        "encoder": "SANMEncoder",
        "encoder_conf": {
            "output_size": D_MODEL,
            "attention_heads": 2,
            "linear_units": 64,
            "num_blocks": 1,
            "dropout_rate": 0.0,
            "positional_dropout_rate": 0.0,
            "attention_dropout_rate": 0.0,
            "input_layer": "pe",
            "pos_enc_class": "SinusoidalPositionEncoder",
            "normalize_before": True,
            "kernel_size": 11,
            "sanm_shfit": 0,
            "selfattention_layer_type": "sanm",
        },
        "decoder": "ParaformerSANMDecoder",
        "decoder_conf": {
            "attention_heads": 2,
            "linear_units": 64,
            "num_blocks": 1,
            "dropout_rate": 0.0,
            "positional_dropout_rate": 0.0,
            "self_attention_dropout_rate": 0.0,
            "src_attention_dropout_rate": 0.0,
            "att_layer_num": 1,
            "kernel_size": 11,
            "sanm_shfit": 0,
        },
        "predictor": "CifPredictorV3",
        "predictor_conf": {
            "idim": D_MODEL,
            "threshold": 1.0,
            "l_order": 1,
            "r_order": 1,
            "tail_threshold": 0.45,
            "smooth_factor2": 0.25,
            "noise_threshold2": 0.01,
            "upsample_times": 3,
            "use_cif1_cnn": False,
            "upsample_type": "cnn_blstm",
        },
        "frontend": "WavFrontend",
        "frontend_conf": {
            "fs": 16000,
            "window": "hamming",
            "n_mels": N_MELS,
            "frame_length": 25,
            "frame_shift": 10,
            "lfr_m": LFR_M,
            "lfr_n": LFR_N,
            "dither": 0.0,
        },
        "specaug": None,
        "normalize": None,
        "tokenizer": "CharTokenizer",
        "tokenizer_conf": {"unk_symbol": UNK, "split_with_space": True},
    }


def build(target: Path, seed: int = 0, tokens_per_second: float = 4.0) -> Path:
    import funasr  # noqa: F401 - fills FunASR's model registry
    from funasr.register import tables

    target.mkdir(parents=True, exist_ok=True)
    tokens = SPECIALS + VOCAB + [UNK]
    cfg = config()
    torch.manual_seed(seed)
    kwargs = {**cfg["model_conf"], **{k: v for k, v in cfg.items() if k != "model_conf"}}
    model = tables.model_classes.get(cfg["model"])(**kwargs, vocab_size=len(tokens), input_size=N_MELS * LFR_M)
    with torch.no_grad():
        # A constant CIF firing rate gives a realistic number of tokens per second (one LFR
        # frame is 60 ms); never emit the special tokens.
        alpha = tokens_per_second * 0.06
        for head in (model.predictor.cif_output, getattr(model.predictor, "cif_output2", None)):
            if head is not None:
                head.weight.mul_(0.01)
                head.bias.fill_(math.log(alpha / (1 - alpha)))
        model.decoder.output_layer.weight.mul_(20.0)
        model.decoder.output_layer.bias.zero_()
        for index in (0, 1, 2, len(tokens) - 1):
            model.decoder.output_layer.bias[index] = -1e4
    torch.save(model.state_dict(), target / "model.pt")
    (target / "tokens.json").write_text(json.dumps(tokens, ensure_ascii=False))
    dim = N_MELS * LFR_M
    vector = " ".join(["0"] * dim)
    (target / "am.mvn").write_text(  # identity CMVN in Kaldi's nnet text format
        f"<Nnet>\n<Splice> {dim} {dim}\n[ 0 ]\n<AddShift> {dim} {dim}\n<LearnRateCoef> 0 [ {vector} ]\n"
        f"<Rescale> {dim} {dim}\n<LearnRateCoef> 0 [ {' '.join(['1'] * dim)} ]\n</Nnet>\n"
    )
    (target / "config.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))
    return target


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
