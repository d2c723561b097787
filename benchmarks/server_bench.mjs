// SPDX-License-Identifier: MIT
// Aggregate tokens/s of `llmforge serve` with C concurrent streaming clients vs one, plus p50/p95
// time to first token and inter-token latency. Needs node >= 18 (no npm packages: plain fetch + SSE).
// usage: node benchmarks/server_bench.mjs build/release/bin/llmforge MODEL.gguf [clients=8] [seconds=10] [max_tokens=64]
//        (or pass URL=http://host:port to measure a running server, e.g. llama.cpp's llama-server)
import { spawn } from 'node:child_process';

const [bin, model, clientsArg = '8', secondsArg = '10', maxArg = '64'] = process.argv.slice(2);
const clients = Number(clientsArg), seconds = Number(secondsArg), maxTokens = Number(maxArg);

function start() {
  if (process.env.URL) return Promise.resolve({ url: process.env.URL, stop: () => {} });
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['serve', '-m', model, '--port', '0', '--slots', String(clients), '--queue', String(4 * clients), '--no-log'],
                    { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)\n/);
      if (m) resolve({ url: m[1], stop: () => p.kill('SIGTERM') });
    });
    p.on('exit', (c) => reject(new Error(`server exited with ${c}`)));
  });
}

const pct = (a, q) => (a.length ? a.slice().sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(q * a.length))] : NaN);

/// One streaming completion: resolves with the number of content chunks, TTFT and gaps (ms).
async function one(url, k) {
  const t0 = performance.now();
  const r = await fetch(url + '/v1/completions', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: process.env.MODEL_NAME || model.split('/').pop().replace(/\.[^.]+$/, ''), prompt: `Once upon a time ${k}`,
                           max_tokens: maxTokens, temperature: 0.8, stream: true, ignore_eos: true }) });
  if (r.status !== 200) return { tokens: 0, ttft: NaN, gaps: [], status: r.status };
  const dec = new TextDecoder();
  let buf = '', tokens = 0, last = 0, ttft = NaN;
  const gaps = [];
  for await (const chunk of r.body) {
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const j = JSON.parse(ev.slice(6));
      if (!j.choices?.[0]?.text) continue;
      const now = performance.now();
      if (tokens === 0) ttft = now - t0;
      else gaps.push(now - last);
      last = now;
      tokens++;
    }
  }
  return { tokens, ttft, gaps, status: 200 };
}

async function run(url, n) {
  const end = performance.now() + seconds * 1000;
  let tokens = 0;
  const ttfts = [], gaps = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, async (_, k) => {
    while (performance.now() < end) {
      const r = await one(url, k);
      tokens += r.tokens;
      if (!Number.isNaN(r.ttft)) ttfts.push(r.ttft);
      gaps.push(...r.gaps);
    }
  }));
  const s = (performance.now() - t0) / 1000;
  return { clients: n, tokens_per_s: tokens / s, ttft_p50_ms: pct(ttfts, 0.5), ttft_p95_ms: pct(ttfts, 0.95),
           itl_p50_ms: pct(gaps, 0.5), itl_p95_ms: pct(gaps, 0.95) };
}

const server = await start();
await run(server.url, 1);  // warm-up
const single = await run(server.url, 1);
const many = await run(server.url, clients);
server.stop();
const fmt = (r) => `${r.clients} client(s): ${r.tokens_per_s.toFixed(1)} tokens/s aggregate; TTFT p50 ${r.ttft_p50_ms.toFixed(2)} ms, ` +
                   `p95 ${r.ttft_p95_ms.toFixed(2)} ms; inter-token p50 ${r.itl_p50_ms.toFixed(3)} ms, p95 ${r.itl_p95_ms.toFixed(3)} ms`;
console.log(fmt(single));
console.log(fmt(many));
console.log(`ratio ${clients} clients / 1 client: ${(many.tokens_per_s / single.tokens_per_s).toFixed(2)}x`);
console.log(JSON.stringify({ single, many, ratio: many.tokens_per_s / single.tokens_per_s }));
