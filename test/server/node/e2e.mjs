// SPDX-License-Identifier: MIT
// End-to-end test of `llmforge serve` with the official openai and ollama npm clients, on 127.0.0.1.
// usage: node e2e.mjs LLMFORGE_BINARY MODEL.gguf   (run_e2e.sh installs the clients first)
// Checks: greedy results through both APIs equal `llmforge run --temp 0`; streaming equals
// non-streaming; embeddings equal `llmforge embed`; errors are 4xx JSON and the server keeps serving;
// a bounded load test where every request gets 200 or 503 + Retry-After and RSS stays flat; SIGTERM.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Ollama } from 'ollama';

const [bin, modelPath] = process.argv.slice(2);
const modelName = modelPath.split('/').pop().replace(/\.[^.]+$/, '');
const results = [];
let failures = 0;

async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures++;
    results.push(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
  console.log(results[results.length - 1]);
}

/// Starts `llmforge serve` on a free port; resolves when it prints "listening on http://HOST:PORT".
function startServer(extra = []) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['serve', '-m', modelPath, '--port', '0', '-t', '1', '--no-log', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const timer = setTimeout(() => reject(new Error('server did not start: ' + err)), 20000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^listening on (http:\/\/127\.0\.0\.1:(\d+))\n/);
      if (m) {
        clearTimeout(timer);
        resolve({ proc: p, url: m[1], stderr: () => err });
      }
    });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
}

function stopServer(s) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { s.proc.kill('SIGKILL'); resolve({ code: 'killed' }); }, 10000);
    s.proc.removeAllListeners('exit');
    s.proc.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
    s.proc.kill('SIGTERM');
  });
}

function rssKb(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) : NaN;
}

async function rawPost(url, path, body, headers = {}) {
  const r = await fetch(url + path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text, headers: r.headers };
}

const prompt = 'Once upon a time';
const maxTokens = 24;
// The reference: `llmforge run --temp 0` echoes the prompt, streams the continuation, ends with "\n".
const runOut = execFileSync(bin, ['run', '-m', modelPath, '-p', prompt, '-n', String(maxTokens), '--temp', '0', '-t', '1'],
                            { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
assert.ok(runOut.startsWith(prompt) && runOut.endsWith('\n'), 'unexpected llmforge run output');
const reference = runOut.slice(prompt.length, -1);
const promptTokens = execFileSync(bin, ['tokenize', '-m', modelPath, '-p', prompt], { encoding: 'utf8' }).trim().split(/\s+/).length;
const embedRef = JSON.parse(execFileSync(bin, ['embed', '-m', modelPath, '-p', prompt, '-t', '1'], { encoding: 'utf8' }));

const server = await startServer(['--slots', '4', '--queue', '32', '--alias', 'storyteller']);
const openai = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'unused', maxRetries: 0 });
const ollama = new Ollama({ host: server.url });

await check('openai: completion (greedy) equals llmforge run --temp 0, with usage', async () => {
  const r = await openai.completions.create({ model: modelName, prompt, max_tokens: maxTokens, temperature: 0 });
  assert.equal(r.choices[0].text, reference);
  assert.equal(r.object, 'text_completion');
  assert.equal(r.usage.prompt_tokens, promptTokens);
  assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= maxTokens);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

await check('openai: streaming completion ends with [DONE] and equals the reference', async () => {
  const stream = await openai.completions.create({ model: modelName, prompt, max_tokens: maxTokens, temperature: 0, stream: true });
  let text = '', finish = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.text ?? '';
    if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
  }
  assert.equal(text, reference);
  assert.ok(finish === 'length' || finish === 'stop');
  const raw = await rawPost(server.url, '/v1/completions', JSON.stringify({ model: modelName, prompt, max_tokens: 4, stream: true }));
  assert.equal(raw.status, 200);
  assert.match(raw.headers.get('content-type'), /text\/event-stream/);
  assert.ok(raw.text.trimEnd().endsWith('data: [DONE]'), 'SSE must end with data: [DONE]');
});

await check('openai: chat completion, streaming equals non-streaming (greedy), usage in stream', async () => {
  const messages = [{ role: 'user', content: 'Tell me a story about a dog.' }];
  const r = await openai.chat.completions.create({ model: modelName, messages, max_tokens: 20, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(r.usage.prompt_tokens > 0);
  const stream = await openai.chat.completions.create({ model: 'storyteller', messages, max_tokens: 20, temperature: 0, stream: true,
                                                        stream_options: { include_usage: true } });
  let text = '', usage = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, r.choices[0].message.content);
  assert.ok(usage && usage.completion_tokens === r.usage.completion_tokens, 'usage chunk');
});

await check('openai: n, seed, stop, logprobs/top_logprobs', async () => {
  const r = await openai.chat.completions.create({ model: modelName, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8,
                                                   temperature: 1, seed: 7, n: 2, logprobs: true, top_logprobs: 2 });
  assert.equal(r.choices.length, 2);
  for (const c of r.choices) {
    assert.ok(c.logprobs.content.length > 0);
    for (const t of c.logprobs.content) {
      assert.ok(t.logprob <= 0);
      assert.equal(t.top_logprobs.length, 2);
    }
  }
  const again = await openai.chat.completions.create({ model: modelName, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8,
                                                       temperature: 1, seed: 7, n: 2 });
  assert.deepEqual(again.choices.map((c) => c.message.content), r.choices.map((c) => c.message.content), 'same seed, same text');
  const cut = reference.slice(5, 9);
  const s = await openai.completions.create({ model: modelName, prompt, max_tokens: maxTokens, temperature: 0, stop: [cut] });
  assert.equal(s.choices[0].text, reference.slice(0, reference.indexOf(cut)));
  assert.equal(s.choices[0].finish_reason, 'stop');
  const lp = await openai.completions.create({ model: modelName, prompt, max_tokens: 4, temperature: 0, logprobs: 3 });
  assert.equal(lp.choices[0].logprobs.tokens.length, lp.usage.completion_tokens);
  assert.equal(Object.keys(lp.choices[0].logprobs.top_logprobs[0]).length, 3);
});

await check('openai: embeddings (base64 default of the client, and float) equal llmforge embed', async () => {
  const r = await openai.embeddings.create({ model: modelName, input: prompt });
  assert.equal(r.data[0].embedding.length, embedRef.length);
  r.data[0].embedding.forEach((v, i) => assert.ok(Math.abs(v - embedRef[i]) < 1e-6, `element ${i}`));
  const f = await openai.embeddings.create({ model: modelName, input: [prompt, 'The dog ran.'], encoding_format: 'float' });
  assert.equal(f.data.length, 2);
  f.data[0].embedding.forEach((v, i) => assert.ok(Math.abs(v - embedRef[i]) < 1e-6));
  const norm = Math.hypot(...f.data[1].embedding);
  assert.ok(Math.abs(norm - 1) < 1e-5, 'normalized');
  assert.equal(f.usage.prompt_tokens, promptTokens + execFileSync(bin, ['tokenize', '-m', modelPath, '-p', 'The dog ran.'], { encoding: 'utf8' }).trim().split(/\s+/).length);
});

await check('openai: model list names the file stem and the alias', async () => {
  const ids = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  assert.deepEqual(ids, [modelName, 'storyteller']);
  const m = await openai.models.retrieve(modelName);
  assert.equal(m.id, modelName);
});

await check('ollama: generate (greedy) equals llmforge run --temp 0, streaming too', async () => {
  const options = { temperature: 0, num_predict: maxTokens };
  const r = await ollama.generate({ model: modelName, prompt, stream: false, options });
  assert.equal(r.response, reference);
  assert.equal(r.done, true);
  assert.equal(r.prompt_eval_count, promptTokens);
  assert.ok(r.eval_count > 0);
  const stream = await ollama.generate({ model: modelName + ':latest', prompt, stream: true, options });
  let text = '', last = null;
  for await (const part of stream) { text += part.response; last = part; }
  assert.equal(text, reference);
  assert.equal(last.done, true);
});

await check('ollama: chat (streaming), tags, show, ps, version, embed', async () => {
  const messages = [{ role: 'user', content: 'Tell me a story about a dog.' }];
  const whole = await ollama.chat({ model: modelName, messages, stream: false, options: { temperature: 0, num_predict: 20 } });
  assert.equal(whole.message.role, 'assistant');
  const stream = await ollama.chat({ model: modelName, messages, stream: true, options: { temperature: 0, num_predict: 20 } });
  let text = '', parts = 0, done = false;
  for await (const part of stream) { text += part.message.content; parts++; done = part.done; }
  assert.ok(parts > 1 && done);
  assert.equal(text, whole.message.content);
  const tags = await ollama.list();
  assert.ok(tags.models.some((m) => m.name === modelName + ':latest' && m.digest.startsWith('sha256:')));
  const show = await ollama.show({ model: modelName });
  assert.equal(show.details.format, 'gguf');
  assert.equal(show.details.family, 'llama');
  const ps = await ollama.ps();
  assert.equal(ps.models[0].name, modelName + ':latest');
  const v = await (await fetch(server.url + '/api/version')).json();  // (no client method in ollama-js 0.5)
  assert.equal(typeof v.version, 'string');
  const e = await ollama.embed({ model: modelName, input: [prompt, 'The dog ran.'] });
  assert.equal(e.embeddings.length, 2);
  e.embeddings[0].forEach((x, i) => assert.ok(Math.abs(x - embedRef[i]) < 1e-6));
});

await check('errors: malformed JSON, wrong types, huge body, unknown model, bad route give 4xx JSON; server keeps serving', async () => {
  let r = await rawPost(server.url, '/v1/chat/completions', '{"model": "x", "messages": [');
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /not valid JSON/);
  r = await rawPost(server.url, '/v1/chat/completions', JSON.stringify({ model: modelName, messages: [{ role: 'user', content: 'hi' }], temperature: 'hot' }));
  assert.equal(r.status, 400);
  assert.equal(r.json.error.param, 'temperature');
  r = await rawPost(server.url, '/v1/completions', JSON.stringify({ model: modelName, prompt: 'x', max_tokens: 'ten' }));
  assert.equal(r.status, 400);
  assert.equal(r.json.error.param, 'max_tokens');
  r = await rawPost(server.url, '/api/generate', JSON.stringify({ model: modelName, prompt: 'x', options: { top_k: 'many' } }));
  assert.equal(r.status, 400);
  assert.match(r.json.error, /options\.top_k/);
  r = await rawPost(server.url, '/v1/completions', JSON.stringify({ model: modelName, prompt: 'x'.repeat(5 << 20) }));
  assert.equal(r.status, 413);
  assert.ok(r.json && r.json.error, '413 has a JSON body');
  r = await rawPost(server.url, '/v1/chat/completions', JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }));
  assert.equal(r.status, 404);
  assert.match(r.json.error.message, /model 'gpt-4' not found/);
  await assert.rejects(ollama.generate({ model: 'nope', prompt: 'x', stream: false }), /not found/);
  r = await rawPost(server.url, '/v1/nothing', '{}');
  assert.equal(r.status, 404);
  assert.ok(r.json.error);
  r = await rawPost(server.url, '/v1/completions', JSON.stringify({ model: modelName, prompt: 'word '.repeat(3000) }));
  assert.equal(r.status, 400);
  assert.match(r.json.error.message, /context holds/);
  const h = await fetch(server.url + '/health');
  assert.equal(h.status, 200);
  const again = await openai.completions.create({ model: modelName, prompt, max_tokens: maxTokens, temperature: 0 });
  assert.equal(again.choices[0].text, reference);
});

await check('metrics: Prometheus text with requests, tokens, queue depth, batch size, histograms', async () => {
  const t = await (await fetch(server.url + '/metrics')).text();
  for (const name of ['llmforge_requests_total{path="/v1/completions",status="200"}', 'llmforge_completion_tokens_total',
                      'llmforge_queue_depth', 'llmforge_batch_size', 'llmforge_request_duration_seconds_bucket',
                      'llmforge_time_to_first_token_seconds_count'])
    assert.ok(t.includes(name), name);
});

await check('client disconnect cancels a streaming generation', async () => {
  const ac = new AbortController();
  const r = await fetch(server.url + '/v1/completions', { method: 'POST', signal: ac.signal, headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: modelName, prompt, max_tokens: 100000, stream: true, temperature: 1 }) });
  const reader = r.body.getReader();
  await reader.read();
  ac.abort();
  await new Promise((res) => setTimeout(res, 500));
  const health = await (await fetch(server.url + '/health')).json();
  assert.equal(health.slots_processing, 0, 'the slot is free again');
});

const stopped = await stopServer(server);
await check('SIGTERM stops the server cleanly (exit code 0)', async () => {
  assert.equal(stopped.code, 0, `exit ${JSON.stringify(stopped)}`);
  assert.match(server.stderr(), /stopped/);
});

// --api-key: 401 JSON without or with a wrong key (OpenAI and Ollama clients), 200 with it.
const secured = await startServer(['--api-key', 'sekret']);
await check('api key: 401 without or with a wrong key, 200 with it; /health stays open', async () => {
  const bad = new OpenAI({ baseURL: secured.url + '/v1', apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(bad.models.list(), (e) => e.status === 401);
  let r = await rawPost(secured.url, '/v1/completions', JSON.stringify({ model: modelName, prompt }));
  assert.equal(r.status, 401);
  assert.ok(r.json.error.message);
  const good = new OpenAI({ baseURL: secured.url + '/v1', apiKey: 'sekret', maxRetries: 0 });
  const c = await good.completions.create({ model: modelName, prompt, max_tokens: maxTokens, temperature: 0 });
  assert.equal(c.choices[0].text, reference);
  const o = new Ollama({ host: secured.url, headers: { Authorization: 'Bearer sekret' } });
  assert.equal((await o.generate({ model: modelName, prompt, stream: false, options: { temperature: 0, num_predict: maxTokens } })).response, reference);
  await assert.rejects(new Ollama({ host: secured.url }).list(), /API key/);
  assert.equal((await fetch(secured.url + '/health')).status, 200);
});
await stopServer(secured);

// Bounded load: 12 clients for ~8 s against 2 slots and a queue of 2, so some requests get 503.
const loadSeconds = Number(process.env.LLMFORGE_LOAD_SECONDS || 8), clients = 12;
const busy = await startServer(['--slots', '2', '--queue', '2']);
await check(`load: ${clients} clients for ${loadSeconds} s, every request 200 or 503 + Retry-After, RSS flat`, async () => {
  const counts = { 200: 0, 503: 0, other: 0, retryAfterMissing: 0 };
  const load = async (seconds, tally) => {
    const end = Date.now() + seconds * 1000;
    const worker = async (k) => {
      while (Date.now() < end) {
        const stream = k % 2 === 0;
        const path = k % 3 === 0 ? '/api/generate' : '/v1/completions';
        const body = path === '/api/generate'
          ? { model: modelName, prompt: `${prompt} ${k}`, stream, options: { num_predict: 32 } }
          : { model: modelName, prompt: `${prompt} ${k}`, stream, max_tokens: 32 };
        try {
          const r = await rawPost(busy.url, path, JSON.stringify(body));
          if (r.status === 200) tally[200]++;
          else if (r.status === 503) { tally[503]++; if (!r.headers.get('retry-after')) tally.retryAfterMissing++; }
          else tally.other++;
        } catch { tally.other++; }
      }
    };
    await Promise.all(Array.from({ length: clients }, (_, k) => worker(k)));
  };
  // Warm-up at the same concurrency: connection threads and allocator arenas reach their size.
  await load(2, { 200: 0, 503: 0, other: 0, retryAfterMissing: 0 });
  const before = rssKb(busy.proc.pid);
  await load(loadSeconds, counts);
  const after = rssKb(busy.proc.pid);
  console.log(`load: ${JSON.stringify(counts)}; RSS ${before} kB before, ${after} kB after (${(100 * (after - before) / before).toFixed(1)}%)`);
  assert.equal(counts.other, 0, 'every request answered 200 or 503');
  assert.equal(counts.retryAfterMissing, 0, '503 carries Retry-After');
  assert.ok(counts[200] > 50, 'most requests served');
  assert.ok(Math.abs(after - before) / before <= 0.10, 'RSS within 10%');
  assert.equal((await fetch(busy.url + '/health')).status, 200);
});
await stopServer(busy);

console.log(`\n${results.length - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
