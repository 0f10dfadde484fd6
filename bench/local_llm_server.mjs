// A minimal OpenAI-compatible chat server for one GGUF model, on node-llama-cpp's prebuilt
// llama.cpp binaries (no compile). Used by bench/local_llm.py to evaluate a local model; it is
// not part of the product. POST /v1/chat/completions (messages, temperature, max_tokens,
// response_format json_object -> llama.cpp's JSON grammar, stream with SSE and usage),
// GET /v1/models, GET /health. One request at a time (one context sequence).
//
//   node bench/local_llm_server.mjs --model FILE.gguf --port 8089 --node-dir bench/.llm/node \
//     [--threads 2] [--ctx 4096] [--max-tokens 512]

import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const modelPath = path.resolve(args.model);
const port = Number(args.port || 8089);
const threads = Number(args.threads || 2);
const contextSize = Number(args.ctx || 4096);
const maxTokens = Number(args["max-tokens"] || 512); // when a request names none
const nodeDir = path.resolve(args["node-dir"] || "bench/.llm/node");
const name = args.name || path.basename(modelPath, ".gguf");

const { getLlama, LlamaChat } = await import(
  pathToFileURL(path.join(nodeDir, "node_modules", "node-llama-cpp", "dist", "index.js")).href
);
const llama = await getLlama({ gpu: false, build: "never" });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize, threads, sequences: 1 });
const sequence = context.getSequence();
const jsonGrammar = await llama.getGrammarFor("json");

let queue = Promise.resolve();
const serial = (job) => {
  const run = queue.then(job, job);
  queue = run.catch(() => {});
  return run;
};

function history(messages) {
  const out = [];
  for (const m of messages) {
    const text = typeof m.content === "string" ? m.content : (m.content || []).map((p) => p.text || "").join("");
    if (m.role === "system") out.push({ type: "system", text });
    else if (m.role === "assistant") out.push({ type: "model", response: [text] });
    else out.push({ type: "user", text });
  }
  out.push({ type: "model", response: [] });
  return out;
}

const promptTokens = (messages) =>
  messages.reduce((n, m) => n + model.tokenize(typeof m.content === "string" ? m.content : "").length + 4, 0);

async function generate(body, onText) {
  const chat = new LlamaChat({ contextSequence: sequence });
  try {
    const json = body.response_format && ["json_object", "json_schema"].includes(body.response_format.type);
    const started = Date.now();
    const result = await chat.generateResponse(history(body.messages || []), {
      maxTokens: Number(body.max_tokens || body.max_completion_tokens || maxTokens),
      temperature: body.temperature ?? 0.2,
      grammar: json ? jsonGrammar : undefined,
      onTextChunk: onText,
    });
    const text = result.response;
    return {
      text,
      usage: {
        prompt_tokens: promptTokens(body.messages || []),
        completion_tokens: model.tokenize(text).length,
      },
      finish: result.metadata?.stopReason === "maxTokens" ? "length" : "stop",
      ms: Date.now() - started,
    };
  } finally {
    chat.dispose({ disposeSequence: false });
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on("data", (c) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

const server = http.createServer(async (req, res) => {
  const send = (code, obj) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(obj));
  };
  try {
    if (req.method === "GET" && (req.url === "/health" || req.url === "/v1/health")) return send(200, { status: "ok" });
    if (req.method === "GET" && req.url === "/v1/models") return send(200, { object: "list", data: [{ id: name, object: "model" }] });
    if (req.method !== "POST" || !req.url.endsWith("/chat/completions")) return send(404, { error: { message: "not found" } });
    const body = JSON.parse(await readBody(req));
    const id = `chatcmpl-${Date.now()}`;
    const created = Math.floor(Date.now() / 1000);
    if (body.stream) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      const chunk = (delta, finish = null, usage = undefined) =>
        res.write(
          `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: name, choices: usage && !delta ? [] : [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`,
        );
      const out = await serial(() => generate(body, (t) => chunk({ content: t })));
      chunk({}, out.finish);
      if (body.stream_options?.include_usage)
        chunk(null, null, { ...out.usage, total_tokens: out.usage.prompt_tokens + out.usage.completion_tokens });
      res.end("data: [DONE]\n\n");
      return;
    }
    const out = await serial(() => generate(body));
    return send(200, {
      id,
      object: "chat.completion",
      created,
      model: name,
      choices: [{ index: 0, message: { role: "assistant", content: out.text }, finish_reason: out.finish }],
      usage: { ...out.usage, total_tokens: out.usage.prompt_tokens + out.usage.completion_tokens },
    });
  } catch (err) {
    if (!res.headersSent) send(500, { error: { message: String(err?.message || err) } });
    else res.end();
  }
});
server.listen(port, "127.0.0.1", () => console.log(`serving ${name} on http://127.0.0.1:${port}/v1`));
