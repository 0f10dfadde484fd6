"""Language models through LiteLLM. The simple way: ``LLM_MODEL=openai/gpt-4o-mini`` (any LiteLLM
model string; the provider's usual key variable, such as OPENAI_API_KEY, is read by LiteLLM itself)
and, for a local or proxy server, ``LLM_API_BASE``. For fallbacks, a YAML file (LLM_CONFIG_FILE):
an ordered list of models, each with its own timeout and retries; the next one is tried when a
model fails. With both, LLM_MODEL is tried first and the file's models after it.

    models:
      - model: openai/gpt-4o-mini          # any LiteLLM model string
        api_key_env: OPENAI_API_KEY        # read from the environment, never from the file
        timeout_s: 60
        max_retries: 2
      - model: ollama/qwen2.5:7b
        api_base: http://127.0.0.1:11434
    token_budget: 6000                     # longer transcripts are summarised map-reduce
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # the cost map must not be fetched

import litellm
import yaml
from pydantic import BaseModel, Field, ValidationError

from api_service.settings import APISettings

log = logging.getLogger(__name__)


class ModelConfig(BaseModel):
    model: str = Field(min_length=1)
    api_base: str | None = None
    api_key_env: str | None = None
    timeout_s: float = Field(default=60.0, gt=0, le=600)
    max_retries: int = Field(default=2, ge=0, le=10)
    temperature: float = Field(default=0.2, ge=0, le=2)


class LLMConfig(BaseModel):
    models: list[ModelConfig] = Field(min_length=1)
    token_budget: int = Field(default=6000, ge=500)


class LLMConfigError(ValueError):
    pass


def load_config(path: str | None, model: str = "", api_base: str = "") -> LLMConfig | None:
    """None when neither a file nor a model is configured (summaries then use the extractive
    fallback). ``model`` (LLM_MODEL), with ``api_base`` (LLM_API_BASE), comes first."""
    first = [ModelConfig(model=model.strip(), api_base=api_base.strip() or None)] if model.strip() else []
    if not path:
        return LLMConfig(models=first) if first else None
    file = Path(path)
    if not file.exists():
        raise LLMConfigError(f"LLM_CONFIG_FILE {path} does not exist")
    try:
        config = LLMConfig.model_validate(yaml.safe_load(file.read_text()) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        raise LLMConfigError(f"LLM_CONFIG_FILE {path} is invalid: {exc}") from exc
    for entry in config.models:
        if entry.api_key_env and not os.environ.get(entry.api_key_env):
            log.warning("model %s: %s is not set", entry.model, entry.api_key_env)
    return config.model_copy(update={"models": first + config.models}) if first else config


def from_settings(settings: APISettings) -> LLMConfig | None:
    """The models LLM_MODEL / LLM_API_BASE and LLM_CONFIG_FILE configure (None: none)."""
    return load_config(settings.llm_config_file, settings.llm_model, settings.llm_api_base)


@dataclass
class Completion:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class LLMUnavailable(RuntimeError):
    pass


# The calls made while ``metering()`` is active (in this task and what it awaits); api_service.usage
# stores them per stage.
_metered: ContextVar[list[Completion] | None] = ContextVar("llm_metered", default=None)


@contextlib.contextmanager
def metering() -> Iterator[list[Completion]]:
    """Collect every call ``complete`` and ``stream`` make inside the block (their tokens and
    cost, as the provider reported them; cost 0 where LiteLLM does not know the model's price)."""
    calls: list[Completion] = []
    token = _metered.set(calls)
    try:
        yield calls
    finally:
        _metered.reset(token)


def _meter(completion: Completion) -> Completion:
    if (calls := _metered.get()) is not None:
        calls.append(completion)
    return completion


def _usage_option(model: ModelConfig) -> dict[str, Any]:
    """Ask for the usage at the end of a stream where LiteLLM says the provider takes the option
    (OpenAI and compatible servers); others would refuse the call over it."""
    try:
        name, provider, _key, _base = litellm.get_llm_provider(model.model, api_base=model.api_base)
        supported = litellm.get_supported_openai_params(model=name, custom_llm_provider=provider) or []
    except Exception:
        return {}
    return {"stream_options": {"include_usage": True}} if "stream_options" in supported else {}


def _stream_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
        return float(prompt_cost + completion_cost)
    except Exception:
        return 0.0


def _call_options(model: ModelConfig) -> dict[str, Any]:
    return {
        "model": model.model,
        "api_base": model.api_base,
        "api_key": os.environ.get(model.api_key_env) if model.api_key_env else None,
        "timeout": model.timeout_s,
        "num_retries": model.max_retries,
        "temperature": model.temperature,
    }


async def complete(config: LLMConfig, messages: list[dict[str, str]], *, json_mode: bool = True) -> Completion:
    """The first model in the list that answers; each gets its own timeout and retries."""
    errors = []
    for model in config.models:
        try:
            response = await litellm.acompletion(
                messages=messages,
                **_call_options(model),
                **({"response_format": {"type": "json_object"}} if json_mode else {}),
            )
        except Exception as exc:
            log.warning("model %s failed: %s", model.model, exc)
            errors.append(f"{model.model}: {type(exc).__name__}")
            continue
        usage = getattr(response, "usage", None)
        try:
            cost = float(litellm.completion_cost(completion_response=response))
        except Exception:
            cost = 0.0
        return _meter(
            Completion(
                text=response.choices[0].message.content or "",
                model=model.model,
                prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
                cost_usd=cost,
            )
        )
    raise LLMUnavailable("every configured model failed: " + "; ".join(errors))


@dataclass
class Delta:
    """A piece of a streamed answer, and the model writing it."""

    text: str
    model: str


async def stream(config: LLMConfig, messages: list[dict[str, str]]) -> AsyncIterator[Delta]:
    """The answer of the first model in the list that starts answering, as it is written. A model
    that fails before its first chunk (429, timeout, refusal) hands over to the next; one that
    fails after it has started raises ``LLMUnavailable`` (what it wrote stays written). The
    provider is asked for the usage at the end of the stream; what it reports is metered."""
    errors = []
    for model in config.models:
        try:
            response = await litellm.acompletion(messages=messages, stream=True, **_usage_option(model), **_call_options(model))
            chunks = response.__aiter__()
            # The whole wait for the first chunk is bounded (retries included), not each read.
            first = await asyncio.wait_for(anext(chunks), model.timeout_s * (model.max_retries + 1))
        except StopAsyncIteration:
            return
        except Exception as exc:
            log.warning("model %s failed: %s", model.model, exc)
            errors.append(f"{model.model}: {type(exc).__name__}")
            continue
        chunk = first
        written: list[str] = []
        usage: Any = None
        while True:
            usage = getattr(chunk, "usage", None) or usage
            if chunk.choices and (text := chunk.choices[0].delta.content):
                written.append(text)
                yield Delta(text=text, model=model.model)
            try:
                chunk = await asyncio.wait_for(anext(chunks), model.timeout_s)
            except StopAsyncIteration:
                prompt = getattr(usage, "prompt_tokens", 0) or 0
                completion = getattr(usage, "completion_tokens", 0) or 0
                _meter(
                    Completion("".join(written), model.model, prompt, completion, _stream_cost(model.model, prompt, completion))
                )
                return
            except Exception as exc:
                log.warning("model %s stopped answering: %s", model.model, exc)
                raise LLMUnavailable(f"{model.model} stopped answering: {type(exc).__name__}") from exc
    raise LLMUnavailable("every configured model failed: " + "; ".join(errors))
