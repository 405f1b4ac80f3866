'use strict';
// Field-by-field checks of request bodies against the published request
// schemas of OpenAI's chat completions (POST /v1/chat/completions) and
// Anthropic's Messages API (POST /v1/messages). Both services refuse
// unknown top-level fields and malformed messages with HTTP 400; so do we,
// so a provider capsule that drifts from the schema fails its tests here
// instead of against the real service. Each checker returns a list of
// error strings (empty = valid).

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStr = (v) => typeof v === 'string';
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const isInt = (v) => Number.isInteger(v);

function unknownKeys(obj, allowed, where, errs) {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) errs.push(`${where}: unknown field '${k}'`);
}

function checkJsonSchemaObject(s, where, errs) {
  if (!isObj(s)) { errs.push(`${where}: must be a JSON schema object`); return; }
  if (s.type !== 'object') errs.push(`${where}.type: must be "object"`);
  if (s.properties !== undefined && !isObj(s.properties)) errs.push(`${where}.properties: must be an object`);
  if (s.required !== undefined && (!Array.isArray(s.required) || !s.required.every(isStr)))
    errs.push(`${where}.required: must be an array of strings`);
}

const OPENAI_TOP = ['model', 'messages', 'stream', 'stream_options', 'temperature', 'top_p', 'max_tokens',
  'max_completion_tokens', 'tools', 'tool_choice', 'parallel_tool_calls', 'n', 'stop', 'presence_penalty',
  'frequency_penalty', 'seed', 'user', 'response_format', 'logprobs', 'top_logprobs', 'logit_bias',
  'metadata', 'store', 'reasoning_effort', 'modalities', 'service_tier', 'prediction', 'audio',
  'web_search_options'];

function openaiContent(c, where, errs, allowNull) {
  if (c === null && allowNull) return;
  if (isStr(c)) return;
  if (!Array.isArray(c)) { errs.push(`${where}: must be a string or an array of content parts`); return; }
  c.forEach((p, i) => {
    if (!isObj(p)) { errs.push(`${where}[${i}]: must be an object`); return; }
    if (p.type === 'text') { if (!isStr(p.text)) errs.push(`${where}[${i}].text: must be a string`); }
    else if (p.type === 'image_url') { if (!isObj(p.image_url) || !isStr(p.image_url.url)) errs.push(`${where}[${i}].image_url.url: required`); }
    else errs.push(`${where}[${i}].type: unknown content part type '${p.type}'`);
  });
}

function checkOpenAI(b) {
  const errs = [];
  if (!isObj(b)) return ['body: must be a JSON object'];
  unknownKeys(b, OPENAI_TOP, 'body', errs);
  if (!isStr(b.model) || !b.model) errs.push('model: required non-empty string');
  if (!Array.isArray(b.messages) || b.messages.length === 0) errs.push('messages: required non-empty array');
  if (b.stream !== undefined && typeof b.stream !== 'boolean') errs.push('stream: must be a boolean');
  if (b.stream_options !== undefined) {
    if (b.stream !== true) errs.push('stream_options: only allowed when stream is true');
    if (!isObj(b.stream_options)) errs.push('stream_options: must be an object');
    else {
      unknownKeys(b.stream_options, ['include_usage', 'include_obfuscation'], 'stream_options', errs);
      if (b.stream_options.include_usage !== undefined && typeof b.stream_options.include_usage !== 'boolean')
        errs.push('stream_options.include_usage: must be a boolean');
    }
  }
  if (b.temperature !== undefined && (!isNum(b.temperature) || b.temperature < 0 || b.temperature > 2))
    errs.push('temperature: must be a number in [0, 2]');
  if (b.top_p !== undefined && (!isNum(b.top_p) || b.top_p < 0 || b.top_p > 1)) errs.push('top_p: must be a number in [0, 1]');
  for (const k of ['max_tokens', 'max_completion_tokens'])
    if (b[k] !== undefined && (!isInt(b[k]) || b[k] < 1)) errs.push(`${k}: must be an integer >= 1`);
  if (b.tools !== undefined) {
    if (!Array.isArray(b.tools)) errs.push('tools: must be an array');
    else b.tools.forEach((t, i) => {
      const w = `tools[${i}]`;
      if (!isObj(t)) { errs.push(`${w}: must be an object`); return; }
      unknownKeys(t, ['type', 'function'], w, errs);
      if (t.type !== 'function') errs.push(`${w}.type: must be "function"`);
      if (!isObj(t.function)) { errs.push(`${w}.function: required object`); return; }
      unknownKeys(t.function, ['name', 'description', 'parameters', 'strict'], `${w}.function`, errs);
      if (!isStr(t.function.name) || !TOOL_NAME.test(t.function.name)) errs.push(`${w}.function.name: must match ^[a-zA-Z0-9_-]{1,64}$`);
      if (t.function.description !== undefined && !isStr(t.function.description)) errs.push(`${w}.function.description: must be a string`);
      if (t.function.parameters !== undefined) checkJsonSchemaObject(t.function.parameters, `${w}.function.parameters`, errs);
    });
    if (Array.isArray(b.tools) && b.tools.length === 0) errs.push('tools: must not be empty when present');
  }
  if (b.tool_choice !== undefined && !['none', 'auto', 'required'].includes(b.tool_choice) && !isObj(b.tool_choice))
    errs.push('tool_choice: must be none, auto, required or an object');
  if (!Array.isArray(b.messages)) return errs;
  // tool messages answer the tool_calls of the assistant message before them,
  // and every tool call is answered before the next non-tool message
  let pending = null;
  b.messages.forEach((m, i) => {
    const w = `messages[${i}]`;
    if (!isObj(m)) { errs.push(`${w}: must be an object`); return; }
    if (pending && m.role !== 'tool' && pending.size > 0)
      errs.push(`${w}: an assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id' (missing ${[...pending].join(', ')})`);
    if (m.role !== 'tool') pending = null;
    switch (m.role) {
      case 'system': case 'developer': case 'user':
        unknownKeys(m, ['role', 'content', 'name'], w, errs);
        openaiContent(m.content, `${w}.content`, errs, false);
        break;
      case 'assistant': {
        unknownKeys(m, ['role', 'content', 'name', 'tool_calls', 'refusal', 'audio'], w, errs);
        const hasCalls = m.tool_calls !== undefined;
        if (m.content === undefined && !hasCalls) errs.push(`${w}.content: required unless tool_calls is given`);
        if (m.content !== undefined) openaiContent(m.content, `${w}.content`, errs, true);
        if (hasCalls) {
          if (!Array.isArray(m.tool_calls) || m.tool_calls.length === 0) { errs.push(`${w}.tool_calls: must be a non-empty array`); break; }
          pending = new Set();
          m.tool_calls.forEach((c, j) => {
            const cw = `${w}.tool_calls[${j}]`;
            if (!isObj(c)) { errs.push(`${cw}: must be an object`); return; }
            unknownKeys(c, ['id', 'type', 'function'], cw, errs);
            if (!isStr(c.id) || !c.id) errs.push(`${cw}.id: required string`);
            if (c.type !== 'function') errs.push(`${cw}.type: must be "function"`);
            if (!isObj(c.function) || !isStr(c.function.name) || !isStr(c.function.arguments))
              errs.push(`${cw}.function: needs string name and string arguments`);
            else {
              try { JSON.parse(c.function.arguments); } catch (e) { errs.push(`${cw}.function.arguments: not JSON text`); }
            }
            if (isStr(c.id)) pending.add(c.id);
          });
        }
        break;
      }
      case 'tool':
        unknownKeys(m, ['role', 'content', 'tool_call_id'], w, errs);
        if (!isStr(m.tool_call_id)) errs.push(`${w}.tool_call_id: required string`);
        openaiContent(m.content, `${w}.content`, errs, false);
        if (!pending || !pending.has(m.tool_call_id))
          errs.push(`${w}: messages with role 'tool' must be a response to a preceding message with 'tool_calls' (id ${m.tool_call_id})`);
        else pending.delete(m.tool_call_id);
        break;
      default:
        errs.push(`${w}.role: must be system, developer, user, assistant or tool`);
    }
  });
  if (pending && pending.size > 0) errs.push(`messages: tool calls without a tool message: ${[...pending].join(', ')}`);
  return errs;
}

const ANTHROPIC_TOP = ['model', 'messages', 'max_tokens', 'system', 'stream', 'temperature', 'top_p', 'top_k',
  'tools', 'tool_choice', 'stop_sequences', 'metadata', 'thinking', 'service_tier', 'container', 'mcp_servers'];

function checkAnthropic(b, headers) {
  const errs = [];
  if (headers && !headers['anthropic-version']) errs.push('header anthropic-version: required');
  if (!isObj(b)) return errs.concat(['body: must be a JSON object']);
  unknownKeys(b, ANTHROPIC_TOP, 'body', errs);
  if (!isStr(b.model) || !b.model) errs.push('model: required non-empty string');
  if (!isInt(b.max_tokens) || b.max_tokens < 1) errs.push('max_tokens: required integer >= 1');
  if (b.stream !== undefined && typeof b.stream !== 'boolean') errs.push('stream: must be a boolean');
  if (b.temperature !== undefined && (!isNum(b.temperature) || b.temperature < 0 || b.temperature > 1))
    errs.push('temperature: must be a number in [0, 1]');
  if (b.system !== undefined) {
    if (Array.isArray(b.system)) b.system.forEach((s, i) => {
      if (!isObj(s) || s.type !== 'text' || !isStr(s.text)) errs.push(`system[${i}]: must be a text block`);
    });
    else if (!isStr(b.system)) errs.push('system: must be a string or an array of text blocks');
  }
  if (b.tools !== undefined) {
    if (!Array.isArray(b.tools)) errs.push('tools: must be an array');
    else b.tools.forEach((t, i) => {
      const w = `tools[${i}]`;
      if (!isObj(t)) { errs.push(`${w}: must be an object`); return; }
      unknownKeys(t, ['name', 'description', 'input_schema', 'type', 'cache_control'], w, errs);
      if (!isStr(t.name) || !TOOL_NAME.test(t.name)) errs.push(`${w}.name: must match ^[a-zA-Z0-9_-]{1,64}$`);
      if (t.description !== undefined && !isStr(t.description)) errs.push(`${w}.description: must be a string`);
      checkJsonSchemaObject(t.input_schema, `${w}.input_schema`, errs);
    });
  }
  if (!Array.isArray(b.messages) || b.messages.length === 0) return errs.concat(['messages: required non-empty array']);
  let pendingUse = null; // tool_use ids of the previous assistant message
  b.messages.forEach((m, i) => {
    const w = `messages[${i}]`;
    if (!isObj(m)) { errs.push(`${w}: must be an object`); return; }
    unknownKeys(m, ['role', 'content'], w, errs);
    if (m.role !== 'user' && m.role !== 'assistant') errs.push(`${w}.role: must be user or assistant (system goes in the top-level system field)`);
    if (i === 0 && m.role !== 'user') errs.push(`${w}: the first message must use the user role`);
    const answered = new Set();
    const uses = new Set();
    if (isStr(m.content)) {
      if (m.content === '' ) errs.push(`${w}.content: must not be empty`);
    } else if (!Array.isArray(m.content) || m.content.length === 0) {
      errs.push(`${w}.content: must be a string or a non-empty array of blocks`);
    } else m.content.forEach((c, j) => {
      const cw = `${w}.content[${j}]`;
      if (!isObj(c)) { errs.push(`${cw}: must be an object`); return; }
      switch (c.type) {
        case 'text':
          unknownKeys(c, ['type', 'text', 'cache_control', 'citations'], cw, errs);
          if (!isStr(c.text) || c.text === '') errs.push(`${cw}.text: text content blocks must be non-empty`);
          break;
        case 'image':
          if (!isObj(c.source)) errs.push(`${cw}.source: required`);
          break;
        case 'tool_use':
          unknownKeys(c, ['type', 'id', 'name', 'input', 'cache_control'], cw, errs);
          if (m.role !== 'assistant') errs.push(`${cw}: tool_use blocks belong to assistant messages`);
          if (!isStr(c.id) || !c.id) errs.push(`${cw}.id: required string`);
          if (!isStr(c.name) || !TOOL_NAME.test(c.name)) errs.push(`${cw}.name: invalid`);
          if (!isObj(c.input)) errs.push(`${cw}.input: must be an object`);
          if (isStr(c.id)) uses.add(c.id);
          break;
        case 'tool_result':
          unknownKeys(c, ['type', 'tool_use_id', 'content', 'is_error', 'cache_control'], cw, errs);
          if (m.role !== 'user') errs.push(`${cw}: tool_result blocks belong to user messages`);
          if (!isStr(c.tool_use_id)) errs.push(`${cw}.tool_use_id: required string`);
          if (c.is_error !== undefined && typeof c.is_error !== 'boolean') errs.push(`${cw}.is_error: must be a boolean`);
          if (c.content !== undefined && !isStr(c.content) && !Array.isArray(c.content)) errs.push(`${cw}.content: string or array of blocks`);
          if (!pendingUse || !pendingUse.has(c.tool_use_id))
            errs.push(`${cw}: unexpected tool_use_id found in tool_result blocks: ${c.tool_use_id}. Each tool_result block must have a corresponding tool_use block in the previous message.`);
          answered.add(c.tool_use_id);
          break;
        default:
          errs.push(`${cw}.type: unknown block type '${c.type}'`);
      }
    });
    if (pendingUse && pendingUse.size) {
      const missing = [...pendingUse].filter((id) => !answered.has(id));
      if (missing.length) errs.push(`${w}: tool_use ids were found without tool_result blocks immediately after: ${missing.join(', ')}`);
    }
    pendingUse = m.role === 'assistant' ? uses : null;
  });
  if (pendingUse && pendingUse.size) errs.push('messages: the last assistant message has tool_use blocks without results');
  return errs;
}

module.exports = { checkOpenAI, checkAnthropic };
