#!/usr/bin/env node
// A scripted MCP server for tests (tests/unit/test_mcp.c,
// tests/integration/mcp_servers.sh): newline-delimited JSON-RPC on stdio.
// argv[2] picks the behaviour:
//   normal   tools over two pages; echo, slow, progress, ask_roots, ask_bogus,
//            whoami (returns _meta), change (emits tools/list_changed),
//            readfile (reads ANY path: only the sandbox confines it)
//   hostile  before each response: an oversized line (17 MiB), garbage,
//            a response to an unknown id; then the real answer
//   version  answers initialize with protocol 1999-01-01
//   crash    exits on the first tools/call
'use strict';
const mode = process.argv[2] || 'normal';
const send = (m) => process.stdout.write(JSON.stringify(m) + '\n');
let extra = false;        // set by "change": a third tool appears
let seen = {};            // ids of server->client requests -> resolver
let nextId = 1000;
const cancelled = [];
const pageA = [{name: 'echo', description: 'echo the arguments', inputSchema: {type: 'object'}},
               {name: 'slow', description: 'never answers', inputSchema: {type: 'object'}},
               {name: 'progress', description: 'two progress notes', inputSchema: {type: 'object'}}];
const pageB = [{name: 'ask_roots', description: 'asks the client for roots', inputSchema: {type: 'object'}},
               {name: 'ask_bogus', description: 'asks the client something unknown', inputSchema: {type: 'object'}},
               {name: 'whoami', description: 'returns the _meta it got', inputSchema: {type: 'object'}},
               {name: 'change', description: 'emits list_changed', inputSchema: {type: 'object'}},
               {name: 'cancelled', description: 'lists cancelled ids', inputSchema: {type: 'object'}},
               {name: 'readfile', description: 'reads any path (no allowed-dir check)', inputSchema: {type: 'object'}}];
const text = (t, isError) => ({content: [{type: 'text', text: t}], isError: !!isError});
function ask(method, cb) {
  const id = nextId++;
  seen[id] = cb;
  send({jsonrpc: '2.0', id, method});
}
function hostileNoise() {
  process.stdout.write('x'.repeat(17 * 1024 * 1024) + '\n');
  process.stdout.write('{this is not json\n');
  send({jsonrpc: '2.0', id: 987654, result: {}});
  process.stdout.write('[1,2]\n');
}
function handle(m) {
  if (m.id !== undefined && m.method === undefined) {   // answer to our request
    const cb = seen[m.id];
    delete seen[m.id];
    if (cb) cb(m);
    return;
  }
  if (m.method === 'notifications/cancelled') { cancelled.push(m.params.requestId); return; }
  if (m.id === undefined) return;                       // other notifications
  const reply = (result) => { if (mode === 'hostile') hostileNoise(); send({jsonrpc: '2.0', id: m.id, result}); };
  switch (m.method) {
    case 'initialize':
      return reply({protocolVersion: mode === 'version' ? '1999-01-01' : '2025-06-18',
                    capabilities: {tools: {listChanged: true}}, serverInfo: {name: 'fake', version: '1'}});
    case 'ping': return reply({});
    case 'tools/list': {
      const p = m.params || {};
      if (!p.cursor) return reply({tools: pageA, nextCursor: 'page-b'});
      if (p.cursor === 'page-b') return reply({tools: extra ? pageB.concat([{name: 'extra', inputSchema: {type: 'object'}}]) : pageB});
      return send({jsonrpc: '2.0', id: m.id, error: {code: -32602, message: 'bad cursor'}});
    }
    case 'tools/call': {
      if (mode === 'crash') process.exit(3);
      const name = m.params.name, args = m.params.arguments || {};
      if (name === 'echo') return reply(text(JSON.stringify(args)));
      if (name === 'readfile') {                          // ignores any allowed directory:
        try { return reply(text(require('fs').readFileSync(args.path, 'utf8'))); }  // the sandbox must stop it
        catch (e) { return reply(text(e.code || String(e), true)); }
      }
      if (name === 'slow') return;                      // waits for cancellation
      if (name === 'cancelled') return reply(text(JSON.stringify(cancelled)));
      if (name === 'whoami') return reply(text(JSON.stringify(m.params._meta || null)));
      if (name === 'progress') {
        const tok = m.params._meta && m.params._meta.progressToken;
        if (tok !== undefined) {
          send({jsonrpc: '2.0', method: 'notifications/progress', params: {progressToken: tok, progress: 1, total: 2}});
          send({jsonrpc: '2.0', method: 'notifications/progress', params: {progressToken: tok, progress: 2, total: 2}});
        }
        return reply(text('done'));
      }
      if (name === 'ask_roots') return ask('roots/list', (a) => reply(text(JSON.stringify(a.result || a.error))));
      if (name === 'ask_bogus') return ask('sampling/createMessage', (a) => reply(text(JSON.stringify(a.error || a.result))));
      if (name === 'change') {
        extra = true;
        send({jsonrpc: '2.0', method: 'notifications/tools/list_changed'});
        return reply(text('changed'));
      }
      return reply(text('unknown tool ' + name, true));
    }
    default:
      return send({jsonrpc: '2.0', id: m.id, error: {code: -32601, message: 'Method not found'}});
  }
}
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    if (line.trim()) handle(JSON.parse(line));
  }
});
process.stdin.on('end', () => process.exit(0));
