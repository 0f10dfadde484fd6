"""faster-whisper (CTranslate2) engine. Clips from many requests are decoded together: grouped by
language, their log-mel features are stacked into one encoder/decoder batch (faster-whisper's
batched pipeline), which is what lets several live streams share one model on a small CPU."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from pathlib import Path

import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import TranscriptionOptions, get_compression_ratio, get_suppressed_tokens

from shared.contracts.transcript import Word
from stt_service.engines.base import Clip, ClipResult, ClipSegment

log = logging.getLogger(__name__)

# Whisper's own thresholds for "this window holds no speech".
NO_SPEECH_PROB = 0.6
LOGPROB_FLOOR = -1.0
COMPRESSION_RATIO_LIMIT = 2.4
MAX_NEW_TOKENS = 220  # Whisper's 448-token context, less room for the prompt
FULL_WINDOW = 3000  # mel frames (100 per second) in Whisper's 30 s window
# Frames of silence kept after a short-window clip: the decoder needs to see the audio end, and
# the word aligner reads up to the clip's duration rounded up to a whole second.
SHORT_WINDOW_MARGIN = 200
# Audio left after a clip's last decoded segment that is decoded again (less is the VAD's padding
# and the slack of Whisper's timestamps), and how often one clip may be continued.
CONTINUE_AFTER_S = 1.0
MAX_CONTINUATIONS = 3
# Custom vocabulary (docs/decisions.md): the terms go to faster-whisper's ``hotwords`` (text the
# decoder reads before each window, as if said earlier) in this form, taking at most this many
# tokens of Whisper's 448-token context (whose rest is the prompt and the transcript itself).
VOCABULARY_FORMAT = "Glossary: {}."
VOCABULARY_TOKENS = 120


def _cuda_available() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:
        return False


class WhisperEngine:
    name = "whisper"
    vocabulary = "hotwords"  # how a custom vocabulary is applied (/info)

    def __init__(
        self,
        model_dir: Path,
        *,
        model_name: str,
        device: str = "auto",
        compute_type: str = "auto",
        cpu_threads: int = 0,
        max_batch_size: int = 8,
    ) -> None:
        self.device = ("cuda" if _cuda_available() else "cpu") if device == "auto" else device
        self.compute_type = ("float16" if self.device == "cuda" else "int8") if compute_type == "auto" else compute_type
        threads = cpu_threads or os.cpu_count() or 1
        self._model = WhisperModel(
            str(model_dir),
            device=self.device,
            compute_type=self.compute_type,
            cpu_threads=threads,
            num_workers=1,
            local_files_only=True,
        )
        self._pipeline = BatchedInferencePipeline(self._model)
        self._hotwords: dict[tuple[str, ...], str | None] = {}
        self.model = model_name
        self.max_batch_size = max_batch_size
        self.multilingual = self._model.model.is_multilingual
        self.languages = list(self._model.supported_languages) if self.multilingual else ["en"]

    def _features(self, audio: np.ndarray) -> np.ndarray:
        """Log-mel frames of the clip, not yet padded (at most a full window)."""
        return self._model.feature_extractor(audio)[..., :-1][..., :FULL_WINDOW]

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        if not self.multilingual:
            return "en", 1.0
        language, probability, _all = self._model.detect_language(features=pad_or_trim(self._features(audio)))
        return language, float(probability)

    def _language(self, clip: Clip, features: np.ndarray) -> str:
        if not self.multilingual:
            return "en"
        if clip.language and clip.language in self.languages:
            return clip.language
        language, _prob, _all = self._model.detect_language(features=pad_or_trim(features))
        return str(language)

    def hotwords(self, terms: tuple[str, ...]) -> str | None:
        """The vocabulary as the decoder reads it: as many terms as fit in VOCABULARY_TOKENS, in
        the order given (the first ones are the user's most important)."""
        if not terms:
            return None
        if terms not in self._hotwords:
            kept: list[str] = []
            for term in terms:
                text = " " + VOCABULARY_FORMAT.format(", ".join([*kept, term]))
                if len(self._model.hf_tokenizer.encode(text, add_special_tokens=False).ids) > VOCABULARY_TOKENS:
                    break
                kept.append(term)
            if len(self._hotwords) >= 1024:  # one entry per distinct vocabulary in use
                self._hotwords.clear()
            self._hotwords[terms] = VOCABULARY_FORMAT.format(", ".join(kept)) if kept else None
        return self._hotwords[terms]

    def _options(
        self, tokenizer: Tokenizer, word_timestamps: bool, prompt: str | None, beam_size: int, vocabulary: tuple[str, ...] = ()
    ) -> TranscriptionOptions:
        return TranscriptionOptions(
            beam_size=beam_size,
            best_of=beam_size,
            patience=1.0,
            length_penalty=1.0,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            log_prob_threshold=LOGPROB_FLOOR,
            no_speech_threshold=NO_SPEECH_PROB,
            compression_ratio_threshold=COMPRESSION_RATIO_LIMIT,
            temperatures=[0.0],
            initial_prompt=prompt,
            prefix=None,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
            prepend_punctuations="\"'“¿([{-",
            append_punctuations="\"'.。,，!！?？:：”)]}、",
            max_new_tokens=None,
            hotwords=self.hotwords(vocabulary),
            word_timestamps=word_timestamps,
            hallucination_silence_threshold=None,
            # Conditioning on earlier text makes Whisper loop on long meetings; never do it.
            condition_on_previous_text=False,
            clip_timestamps="0",
            prompt_reset_on_temperature=0.5,
            multilingual=False,
            without_timestamps=False,
            max_initial_timestamp=0.0,
        )

    def transcribe_clips(self, clips: list[Clip]) -> list[ClipResult]:
        """Every clip to its end. A batched decode reads each clip once, but Whisper often stops
        before the end of its window (its last tokens open a segment they never fill, which
        sequential Whisper answers by seeking there and decoding again): the audio after the last
        decoded segment is decoded again, as sequential Whisper would, until none is left."""
        features = [self._features(c.audio) for c in clips]
        languages = [self._language(c, f) for c, f in zip(clips, features, strict=True)]
        segments: list[list[ClipSegment]] = [[] for _ in clips]
        decoded = [0] * len(clips)  # samples of each clip that its segments account for
        todo = list(range(len(clips)))  # every clip is decoded once; those ``to_end`` may go on
        for round_ in range(1 + MAX_CONTINUATIONS):
            parts = [dataclasses.replace(clips[i], audio=clips[i].audio[decoded[i] :]) for i in todo]
            if round_:
                features = [self._features(part.audio) for part in parts]
            outputs = self._decode_clips(parts, [languages[i] for i in todo], features)
            progressed = []
            for i, part, found in zip(todo, parts, outputs, strict=True):
                offset_ms = decoded[i] * 1000 // 16000
                segments[i] += [_shifted(seg, offset_ms) for seg in found]
                stop = _decoded_until(found)
                if clips[i].to_end and 0 < stop <= part.audio.size - CONTINUE_AFTER_S * 16000:
                    decoded[i] += stop
                    progressed.append(i)
            todo = progressed
            if not todo:
                break
        return [ClipResult(language=language, segments=found) for language, found in zip(languages, segments, strict=True)]

    def _decode_clips(self, clips: list[Clip], languages: list[str], features: list[np.ndarray]) -> list[list[ClipSegment]]:
        """One decode of each clip (in its language, from its features), batched by decoding options."""
        results: list[list[ClipSegment]] = [[] for _ in clips]
        # One model call per set of clips that share decoding options.
        groups: dict[tuple[str, bool, str | None, int, bool, tuple[str, ...]], list[int]] = {}
        for i, clip in enumerate(clips):
            key = (languages[i], clip.word_timestamps, clip.prompt, clip.beam_size, clip.short_window, clip.vocabulary)
            groups.setdefault(key, []).append(i)
        for (language, words, prompt, beam_size, short_window, vocabulary), indices in groups.items():
            tokenizer = Tokenizer(self._model.hf_tokenizer, self.multilingual, task="transcribe", language=language)
            options = self._options(tokenizer, words, prompt, beam_size, vocabulary)
            for start in range(0, len(indices), self.max_batch_size):
                batch = indices[start : start + self.max_batch_size]
                batch_clips, batch_features = [clips[i] for i in batch], [features[i] for i in batch]
                outputs = self._decode_checked(batch_clips, batch_features, tokenizer, options, short_window)
                unsure = [n for n, segments in enumerate(outputs) if options.hotwords and _confidence(segments) < LOGPROB_FLOOR]
                if unsure:
                    # The vocabulary is a hint the decoder may follow astray (seen: a sentence
                    # decoded as its last word alone). Below Whisper's own confidence floor, the
                    # clip is decoded without it too, and the more confident decode is kept.
                    log.info("%d of %d clips decoded unsure with a vocabulary; decoding them without", len(unsure), len(batch))
                    plain = self._decode_checked(
                        [batch_clips[n] for n in unsure],
                        [batch_features[n] for n in unsure],
                        tokenizer,
                        dataclasses.replace(options, hotwords=None),
                        short_window,
                    )
                    for n, segments in zip(unsure, plain, strict=True):
                        if _confidence(segments) > _confidence(outputs[n]):
                            outputs[n] = segments
                for i, segments in zip(batch, outputs, strict=True):
                    results[i] = self._segments(segments, clips[i].audio.size)
        return results

    def _decode_checked(
        self,
        clips: list[Clip],
        features: list[np.ndarray],
        tokenizer: Tokenizer,
        options: TranscriptionOptions,
        short_window: bool,
    ) -> list[list[dict]]:
        """Raw segments of one batch; a short window can send the decoder into a loop: those
        clips are decoded again in the full window."""
        outputs = self._decode(clips, features, tokenizer, options, short_window)
        retry = [n for n, segments in enumerate(outputs) if short_window and self._degenerate(segments)]
        if retry:
            log.info("%d of %d short-window clips looped; decoding them in a full window", len(retry), len(clips))
            again = self._decode([clips[n] for n in retry], [features[n] for n in retry], tokenizer, options, False)
            for n, segments in zip(retry, again, strict=True):
                outputs[n] = segments
        return outputs

    def _decode(
        self,
        clips: list[Clip],
        features: list[np.ndarray],
        tokenizer: Tokenizer,
        options: TranscriptionOptions,
        short_window: bool,
    ) -> list[list[dict]]:
        """Raw segments of one encoder/decoder batch."""
        metadata = [{"offset": 0.0, "duration": c.audio.size / 16000, "segments": []} for c in clips]
        if short_window:
            # Bound a runaway decode: speech is under 10 tokens a second, in any language.
            longest_s = max(c.audio.size for c in clips) / 16000
            options = dataclasses.replace(options, max_new_tokens=min(MAX_NEW_TOKENS, int(10 * longest_s) + 20))
        # The word-timing heuristics carry state between clips of one file; ours are unrelated.
        self._pipeline.last_speech_timestamp = 0.0
        return list(self._pipeline.forward(self._stack(features, short_window), tokenizer, metadata, options))

    @staticmethod
    def _degenerate(segments: list[dict]) -> bool:
        """A looping decode: the text compresses too well (Whisper's own test), or it ends by
        saying its last four or more words twice over."""
        text = "".join(seg["text"] for seg in segments)
        if len(text) > 20 and get_compression_ratio(text) > COMPRESSION_RATIO_LIMIT:
            return True
        words = re.sub(r"[^\w\s']", " ", text.lower()).split()
        return any(words[-n:] == words[-2 * n : -n] for n in range(4, len(words) // 2 + 1))

    @staticmethod
    def _stack(features: list[np.ndarray], short_window: bool) -> np.ndarray:
        """One encoder batch: every clip padded with silence to the same number of frames, a full
        window or, for short-window clips, the longest clip plus a margin in whole seconds."""
        frames = FULL_WINDOW
        if short_window:
            longest = max(f.shape[-1] for f in features) + SHORT_WINDOW_MARGIN
            frames = min(FULL_WINDOW, -(-longest // 100) * 100)
        return np.stack([pad_or_trim(f, frames) for f in features])

    @staticmethod
    def _segments(raw: list[dict], n_samples: int) -> list[ClipSegment]:
        limit_ms = n_samples * 1000 // 16000
        segments = []
        for seg in raw:
            if seg["no_speech_prob"] > NO_SPEECH_PROB and seg["avg_logprob"] < LOGPROB_FLOOR:
                continue
            text = seg["text"]
            if not text.strip():
                continue
            words = [
                Word(
                    start_ms=min(int(w["start"] * 1000), limit_ms),
                    end_ms=min(max(int(w["end"] * 1000), int(w["start"] * 1000)), limit_ms),
                    text=w["word"],
                    prob=round(float(w["probability"]), 4),
                )
                for w in seg.get("words") or []
            ]
            start = min(int(seg["start"] * 1000), limit_ms)
            end = min(max(int(seg["end"] * 1000), start), limit_ms)
            segments.append(ClipSegment(start_ms=start, end_ms=end, text=text, words=words))
        return segments


def _confidence(segments: list[dict]) -> float:
    """A decode's least confident segment (its average token log-probability); a decode that
    found nothing to say is as confident as Whisper's floor."""
    return min((seg["avg_logprob"] for seg in segments if seg["text"].strip()), default=LOGPROB_FLOOR)


def _shifted(segment: ClipSegment, offset_ms: int) -> ClipSegment:
    """A segment of a clip's continuation, in times from the clip's own start."""
    words = [w.model_copy(update={"start_ms": w.start_ms + offset_ms, "end_ms": w.end_ms + offset_ms}) for w in segment.words]
    return ClipSegment(segment.start_ms + offset_ms, segment.end_ms + offset_ms, segment.text, words)


def _decoded_until(segments: list[ClipSegment]) -> int:
    """The sample where the decoded speech ends: the last segment's or word's end."""
    ends = [seg.end_ms for seg in segments] + [w.end_ms for seg in segments for w in seg.words]
    return max(ends, default=0) * 16000 // 1000
