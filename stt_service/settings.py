from __future__ import annotations

from typing import Literal

from shared.settings import ServiceSettings


class STTSettings(ServiceSettings):
    stt_host: str = "127.0.0.1"
    stt_port: int = 8001
    # auto = FunASR when STT_FUNASR_MODEL_DIR is set and present, else the embedded Whisper.
    stt_engine: Literal["auto", "funasr", "whisper"] = "auto"
    # Embedded model name (base, tiny.en) assembled from registry packages, or a CTranslate2 model folder.
    stt_whisper_model: str = "base"
    # Where embedded models are assembled (relative to the working directory).
    stt_model_cache_dir: str = "models"
    # Local FunASR model folder (SenseVoiceSmall or Paraformer: config.yaml + model.pt).
    stt_funasr_model_dir: str = ""
    # Optional FunASR FSMN-VAD and punctuation (CT-Transformer) model folders.
    stt_funasr_vad_dir: str = ""
    stt_funasr_punc_dir: str = ""
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
    # Live clips are encoded without Whisper's padding to 30 s: 2-3x faster, about 1 point of WER.
    stt_live_short_window: bool = True
    stt_max_utterance_s: float = 25.0
