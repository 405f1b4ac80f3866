#!/usr/bin/env node
'use strict';
// mockllm: a local OpenAI- and Anthropic-compatible model server for tests
// and `make run` (Node 20, no npm packages). See tools/mockllm/README.md.
//
//   node tools/mockllm/server.js --port 0 [--script FILE] [--record FILE]
//
// Prints "listening PORT" on stdout once it accepts connections.
// POST /v1/chat/completions (OpenAI; stream true -> SSE), POST /v1/messages
// (Anthropic; stream true -> SSE), GET /v1/models. Every request body is
// checked against the provider's request schema (schema.js): an invalid one
// is answered 400 like the real service. Every request is appended to the
// record file as one JSON line: the body as sent plus a "_mock" member
// {path, valid, errors, headers: {authorization, x-api-key, anthropic-version}}.
const http = require('http');
const fs = require('fs');
const { checkOpenAI, checkAnthropic } = require('./schema');

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}
const port = Number(arg('--port', '0'));
const scriptFile = arg('--script', null);
const recordFile = arg('--record', null);
let script = [];
if (scriptFile) {
  script = JSON.parse(fs.readFileSync(scriptFile, 'utf8'));
  if (!Array.isArray(script)) throw new Error(`${scriptFile}: the script must be a JSON array of turns`);
}
let turnIndex = 0;
let seq = 0;

function record(path, body, valid, errors, headers) {
  if (!recordFile) return;
  const line = Object.assign({}, typeof body === 'object' && body !== null && !Array.isArray(body) ? body : { _raw: body });
  line._mock = {
    path, valid, errors,
    headers: {
      authorization: headers.authorization || null,
      'x-api-key': headers['x-api-key'] || null,
      'anthropic-version': headers['anthropic-version'] || null,
    },
  };
  fs.appendFileSync(recordFile, JSON.stringify(line) + '\n');
}

// ---- the default turn: read README.md once, then summarise it ----
function textOf(c) {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((p) => (p && typeof p.text === 'string' ? p.text : (p && typeof p.content === 'string' ? p.content : ''))).join('');
  return '';
}
function defaultTurn(api, body) {
  const toolNames = (body.tools || []).map((t) => (api === 'openai' ? t.function && t.function.name : t.name));
  let toolResult = null;
  let lastUser = '';
  for (const m of body.messages || []) {
    if (api === 'openai' && m.role === 'tool') toolResult = textOf(m.content);
    if (api === 'anthropic' && Array.isArray(m.content))
      for (const b of m.content) if (b && b.type === 'tool_result') toolResult = textOf(b.content);
    if (m.role === 'user' && textOf(m.content)) lastUser = textOf(m.content);
  }
  if (toolResult === null && toolNames.includes('read_file'))
    return { text: 'Let me read the README.', tool_calls: [{ name: 'read_file', arguments: { path: 'README.md' } }] };
  if (toolResult !== null) {
    const first = toolResult.split('\n')[0];
    return { text: `The file starts with: ${first}` };
  }
  return { text: `mockllm heard: ${lastUser}` };
}

function nextTurn(api, body) {
  if (turnIndex < script.length) return script[turnIndex++];
  return defaultTurn(api, body);
}

// Tokens: text in pieces of up to 4 characters, tool arguments in pieces of 5.
function pieces(s, n) {
  const out = [];
  const chars = Array.from(s);
  for (let i = 0; i < chars.length; i += n) out.push(chars.slice(i, i + n).join(''));
  return out;
}
const estimate = (body) => Math.max(1, Math.round(JSON.stringify(body.messages || []).length / 4));

// ---- SSE event lists ----
function openaiEvents(turn, body) {
  const id = `chatcmpl-mock${++seq}`;
  const base = { id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: body.model };
  const chunk = (delta, finish) => 'data: ' + JSON.stringify(Object.assign({}, base, { choices: [{ index: 0, delta, finish_reason: finish || null }] })) + '\n\n';
  const ev = [': mockllm keep-alive\n\n', chunk({ role: 'assistant', content: '' })];
  let out = 0;
  if (turn.reasoning) for (const p of pieces(turn.reasoning, 4)) { ev.push(chunk({ reasoning_content: p })); out++; }
  for (const p of pieces(turn.text || '', 4)) { ev.push(chunk({ content: p })); out++; }
  (turn.tool_calls || []).forEach((c, i) => {
    const args = typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments || {});
    ev.push(chunk({ tool_calls: [{ index: i, id: c.id || `call_mock${seq}_${i}`, type: 'function', function: { name: c.name, arguments: '' } }] }));
    for (const p of pieces(args, 5)) { ev.push(chunk({ tool_calls: [{ index: i, function: { arguments: p } }] })); out++; }
  });
  if (turn.stream_error) {
    ev.push('data: ' + JSON.stringify({ error: { message: turn.stream_error, type: 'server_error' } }) + '\n\n');
    return ev;
  }
  ev.push(chunk({}, (turn.tool_calls || []).length ? 'tool_calls' : 'stop'));
  const u = turn.usage || {};
  if (body.stream_options && body.stream_options.include_usage) {
    const pt = u.input_tokens !== undefined ? u.input_tokens : estimate(body);
    const ct = u.output_tokens !== undefined ? u.output_tokens : out;
    ev.push('data: ' + JSON.stringify(Object.assign({}, base, { choices: [], usage: { prompt_tokens: pt, completion_tokens: ct, total_tokens: pt + ct } })) + '\n\n');
  }
  ev.push('data: [DONE]\n\n');
  return ev;
}

function anthropicEvents(turn, body) {
  const e = (type, data) => `event: ${type}\ndata: ${JSON.stringify(Object.assign({ type }, data))}\n\n`;
  const u = turn.usage || {};
  const it = u.input_tokens !== undefined ? u.input_tokens : estimate(body);
  const ev = [e('message_start', { message: { id: `msg_mock${++seq}`, type: 'message', role: 'assistant', content: [], model: body.model, stop_reason: null, stop_sequence: null, usage: { input_tokens: it, output_tokens: 1 } } })];
  ev.push(e('ping', {}));
  let idx = 0, out = 0;
  if (turn.reasoning) {
    ev.push(e('content_block_start', { index: idx, content_block: { type: 'thinking', thinking: '' } }));
    for (const p of pieces(turn.reasoning, 4)) { ev.push(e('content_block_delta', { index: idx, delta: { type: 'thinking_delta', thinking: p } })); out++; }
    ev.push(e('content_block_stop', { index: idx++ }));
  }
  if (turn.text) {
    ev.push(e('content_block_start', { index: idx, content_block: { type: 'text', text: '' } }));
    for (const p of pieces(turn.text, 4)) { ev.push(e('content_block_delta', { index: idx, delta: { type: 'text_delta', text: p } })); out++; }
    ev.push(e('content_block_stop', { index: idx++ }));
  }
  (turn.tool_calls || []).forEach((c, i) => {
    const args = typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments || {});
    ev.push(e('content_block_start', { index: idx, content_block: { type: 'tool_use', id: c.id || `toolu_mock${seq}_${i}`, name: c.name, input: {} } }));
    for (const p of pieces(args, 5)) { ev.push(e('content_block_delta', { index: idx, delta: { type: 'input_json_delta', partial_json: p } })); out++; }
    ev.push(e('content_block_stop', { index: idx++ }));
  });
  if (turn.stream_error) {
    ev.push(e('error', { error: { type: 'overloaded_error', message: turn.stream_error } }));
    return ev;
  }
  const ot = u.output_tokens !== undefined ? u.output_tokens : out;
  ev.push(e('message_delta', { delta: { stop_reason: (turn.tool_calls || []).length ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: ot } }));
  ev.push(e('message_stop', {}));
  return ev;
}

// ---- non-streaming answers ----
function openaiWhole(turn, body) {
  const calls = (turn.tool_calls || []).map((c, i) => ({ id: c.id || `call_mock${seq}_${i}`, type: 'function', function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments || {}) } }));
  const msg = { role: 'assistant', content: turn.text || null };
  if (calls.length) msg.tool_calls = calls;
  const u = turn.usage || {};
  const pt = u.input_tokens !== undefined ? u.input_tokens : estimate(body), ct = u.output_tokens !== undefined ? u.output_tokens : pieces(turn.text || '', 4).length;
  return { id: `chatcmpl-mock${++seq}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: body.model, choices: [{ index: 0, message: msg, finish_reason: calls.length ? 'tool_calls' : 'stop' }], usage: { prompt_tokens: pt, completion_tokens: ct, total_tokens: pt + ct } };
}
function anthropicWhole(turn, body) {
  const content = [];
  if (turn.text) content.push({ type: 'text', text: turn.text });
  (turn.tool_calls || []).forEach((c, i) => content.push({ type: 'tool_use', id: c.id || `toolu_mock${seq}_${i}`, name: c.name, input: typeof c.arguments === 'string' ? JSON.parse(c.arguments) : (c.arguments || {}) }));
  const u = turn.usage || {};
  return { id: `msg_mock${++seq}`, type: 'message', role: 'assistant', model: body.model, content, stop_reason: (turn.tool_calls || []).length ? 'tool_use' : 'end_turn', stop_sequence: null, usage: { input_tokens: u.input_tokens !== undefined ? u.input_tokens : estimate(body), output_tokens: u.output_tokens !== undefined ? u.output_tokens : 1 } };
}

function sendJson(res, status, obj) {
  const s = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
  res.end(s);
}
function apiError(res, api, status, message) {
  if (api === 'anthropic') sendJson(res, status, { type: 'error', error: { type: 'invalid_request_error', message } });
  else sendJson(res, status, { error: { message, type: 'invalid_request_error', param: null, code: null } });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Plays the events: delay_ms before each, disconnect_after N events (the
// socket is destroyed without the end of the stream), chunk_bytes to cut
// the whole stream into writes of N bytes (SSE lines split across reads).
async function stream(res, turn, events) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'close' });
  res.flushHeaders();
  const delay = Number(turn.delay_ms || 0);
  const cut = turn.disconnect_after !== undefined ? Number(turn.disconnect_after) : -1;
  if (turn.chunk_bytes) {
    let all = events.join('');
    if (cut >= 0) all = events.slice(0, cut).join('');
    const buf = Buffer.from(all);
    for (let i = 0; i < buf.length; i += Number(turn.chunk_bytes)) {
      if (res.destroyed) return;
      res.write(buf.subarray(i, i + Number(turn.chunk_bytes)));
      await sleep(delay || 2);
    }
  } else {
    for (let i = 0; i < events.length; i++) {
      if (cut >= 0 && i >= cut) break;
      if (delay) await sleep(delay);
      if (res.destroyed) return;
      res.write(events[i]);
    }
  }
  if (cut >= 0) { await sleep(20); res.socket && res.socket.destroy(); return; }
  res.end();
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const path = req.url.split('?')[0];
    try {
      if (req.method === 'GET' && path === '/v1/models') {
        return sendJson(res, 200, { object: 'list', data: [{ id: 'mock-model', object: 'model', created: 0, owned_by: 'mockllm' }] });
      }
      const api = path === '/v1/chat/completions' ? 'openai' : path === '/v1/messages' ? 'anthropic' : null;
      if (req.method !== 'POST' || !api) return sendJson(res, 404, { error: { message: `mockllm: no route ${req.method} ${path}` } });
      let body;
      const raw = Buffer.concat(chunks).toString('utf8');
      try { body = JSON.parse(raw); } catch (e) {
        record(path, raw, false, ['body: not JSON: ' + e.message], req.headers);
        return apiError(res, api, 400, 'body is not valid JSON');
      }
      const errors = api === 'openai' ? checkOpenAI(body) : checkAnthropic(body, req.headers);
      record(path, body, errors.length === 0, errors, req.headers);
      if (errors.length) return apiError(res, api, 400, 'mockllm schema: ' + errors.join('; '));
      const turn = nextTurn(api, body);
      if (turn.error) {
        if (turn.delay_ms) await sleep(Number(turn.delay_ms));
        const b = turn.error.body !== undefined ? turn.error.body : 'mockllm scripted error';
        const s = typeof b === 'string' ? b : JSON.stringify(b);
        res.writeHead(Number(turn.error.status || 500), { 'content-type': typeof b === 'string' ? 'text/plain' : 'application/json' });
        return res.end(s);
      }
      if (body.stream === true) return stream(res, turn, api === 'openai' ? openaiEvents(turn, body) : anthropicEvents(turn, body));
      if (turn.delay_ms) await sleep(Number(turn.delay_ms));
      return sendJson(res, 200, api === 'openai' ? openaiWhole(turn, body) : anthropicWhole(turn, body));
    } catch (e) {
      if (!res.headersSent) sendJson(res, 500, { error: { message: 'mockllm: ' + e.message } });
      else res.destroy();
    }
  });
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
