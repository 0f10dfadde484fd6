"""Language models through LiteLLM, configured by a YAML file (LLM_CONFIG_FILE): an ordered list
of models, each with its own timeout and retries; the next one is tried when a model fails.

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

import logging
import os
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # the cost map must not be fetched

import litellm
import yaml
from pydantic import BaseModel, Field, ValidationError

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


def load_config(path: str | None) -> LLMConfig | None:
    """None when no file is configured (summaries then use the extractive fallback)."""
    if not path:
        return None
    file = Path(path)
    if not file.exists():
        raise LLMConfigError(f"LLM_CONFIG_FILE {path} does not exist")
    try:
        config = LLMConfig.model_validate(yaml.safe_load(file.read_text()) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        raise LLMConfigError(f"LLM_CONFIG_FILE {path} is invalid: {exc}") from exc
    for model in config.models:
        if model.api_key_env and not os.environ.get(model.api_key_env):
            log.warning("model %s: %s is not set", model.model, model.api_key_env)
    return config


@dataclass
class Completion:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class LLMUnavailable(RuntimeError):
    pass


async def complete(config: LLMConfig, messages: list[dict[str, str]], *, json_mode: bool = True) -> Completion:
    """The first model in the list that answers; each gets its own timeout and retries."""
    errors = []
    for model in config.models:
        try:
            response = await litellm.acompletion(
                model=model.model,
                messages=messages,
                api_base=model.api_base,
                api_key=os.environ.get(model.api_key_env) if model.api_key_env else None,
                timeout=model.timeout_s,
                num_retries=model.max_retries,
                temperature=model.temperature,
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
        return Completion(
            text=response.choices[0].message.content or "",
            model=model.model,
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            cost_usd=cost,
        )
    raise LLMUnavailable("every configured model failed: " + "; ".join(errors))
