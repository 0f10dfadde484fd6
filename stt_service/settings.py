from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class STTSettings(ServiceSettings):
    stt_host: str = "127.0.0.1"
    stt_port: int = 8001
    # auto = FunASR when STT_FUNASR_MODEL names a hub model or a folder holding one, else Whisper.
    stt_engine: Literal["auto", "funasr", "whisper"] = "auto"
    # An embedded model (base, tiny.en) assembled from registry packages; a faster-whisper name
    # (small, large-v3, distil-large-v3, …) or Hugging Face repo id (Systran/faster-whisper-small),
    # downloaded once into the model cache; or a CTranslate2 model folder.
    stt_whisper_model: str = "base"
    # The model cache (relative to the working directory): embedded models, huggingface/, modelscope/.
    stt_model_cache_dir: str = "models"
    # FunASR model: a local folder (SenseVoiceSmall or Paraformer: config.yaml + model.pt) or a
    # ModelScope name (paraformer-zh, iic/SenseVoiceSmall) downloaded once. Was STT_FUNASR_MODEL_DIR.
    stt_funasr_model: str = Field(default="", validation_alias=AliasChoices("stt_funasr_model", "stt_funasr_model_dir"))
    # Optional FunASR FSMN-VAD and punctuation (CT-Transformer) models: folders or names (fsmn-vad, ct-punc).
    stt_funasr_vad_model: str = Field(default="", validation_alias=AliasChoices("stt_funasr_vad_model", "stt_funasr_vad_dir"))
    stt_funasr_punc_model: str = Field(default="", validation_alias=AliasChoices("stt_funasr_punc_model", "stt_funasr_punc_dir"))
    stt_device: Literal["auto", "cpu", "cuda"] = "auto"
    # CTranslate2 compute type; auto = int8 on CPU, float16 on CUDA.
    stt_compute_type: str = "auto"
    # Threads for inference on CPU (0 = one per core).
    stt_cpu_threads: int = 0
    # Micro-batching: up to this many ≤30 s chunks per model call, waiting this long to fill a batch.
    stt_max_batch_size: int = 8
    stt_batch_wait_ms: int = 15
    # Chunks waiting beyond this answer 503 with Retry-After.
    stt_max_queue: int = 256
    # Language when a request names none; empty = detect.
    stt_default_language: str = ""
    # Script for Chinese when the request says only "zh" or nothing: simplified | traditional.
    stt_chinese_script: Literal["simplified", "traditional"] = "simplified"
    # Streaming: a partial at least this often while speech continues; silence that ends an utterance.
    stt_partial_interval_ms: int = 600
    stt_endpoint_silence_ms: int = 500
    # An utterance of a word or two waits this much more audio for its speaker to go on, and
    # continues if they do instead of being shown alone (0: never; see streaming.py).
    stt_final_merge_ms: int = Field(default=1000, ge=0)
    # A final is a sentence or a clause: an utterance whose decode does not end a sentence (no
    # ". ? !" at its end: a breath mid-sentence) waits this much more audio at its endpoint, and
    # continues if the speaker goes on (0: never); one that ends a sentence is final at once.
    stt_phrase_hold_ms: int = Field(default=1000, ge=0)
    # A pause (160 ms) whose early decode ends a sentence ends the utterance there, without
    # waiting for STT_ENDPOINT_SILENCE_MS (conversations rarely pause that long between sentences).
    stt_phrase_end_on_punctuation: bool = True
    # Live clips are encoded without Whisper's padding to 30 s: 2-3x faster, about 1 point of WER.
    stt_live_short_window: bool = True
    stt_max_utterance_s: float = 25.0
    # Audio an utterance starts with before the speech the VAD is sure of: soft onsets ("Oh,",
    # "Well") come earlier, and the VAD's own 200 ms lost first words of turns on a real phone call.
    stt_utterance_preroll_ms: int = Field(default=500, ge=0, le=1000)
