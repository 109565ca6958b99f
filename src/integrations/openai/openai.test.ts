/**
 * The OpenAI integration with the real `openai` package pointed at a loopback server that speaks
 * the OpenAI wire format (JSON and server-sent events, with a final usage chunk), and at one that
 * never answers. Each entry is checked field by field; the caller's results are compared with an
 * unobserved client's.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Audit } from '../../config/index.js';
import { type AuditEntry, decodeLine } from '../../read/index.js';
import { ATTRIBUTED, attribution, CONTEXT } from '../../test-support/request-context.js';
import { type SilentServer, startSilentServer } from '../../test-support/silent-server.js';
import { runWithRequestContext } from '../context/index.js';
import { auditOpenAI } from './index.js';

const CREATED = 1_767_225_600;

function chatCompletion(body: Record<string, unknown>) {
  const wantsTool = Array.isArray(body.tools);
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: CREATED,
    model: 'gpt-4o-2024-08-06',
    choices: [
      {
        index: 0,
        logprobs: null,
        finish_reason: wantsTool ? 'tool_calls' : 'stop',
        message: wantsTool
          ? {
              role: 'assistant',
              content: null,
              refusal: null,
              tool_calls: [
                {
                  id: 'call_a',
                  type: 'function',
                  function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
                },
              ],
            }
          : { role: 'assistant', content: 'Paris.', refusal: null },
      },
    ],
    usage: { prompt_tokens: 14, completion_tokens: 2, total_tokens: 16 },
  };
}

function chatChunks(body: Record<string, unknown>): unknown[] {
  const base = { id: 'chatcmpl-2', object: 'chat.completion.chunk', created: CREATED, model: 'gpt-4o-mini' };
  const chunks: unknown[] = [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: { content: 'Bon' }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: { content: 'jour' }, finish_reason: null }] },
    {
      ...base,
      choices: [
        {
          index: 0,
          delta: {
            tool_calls: [
              { index: 0, id: 'call_s', type: 'function', function: { name: 'lookup', arguments: '{"q":' } },
            ],
          },
          finish_reason: null,
        },
      ],
    },
    {
      ...base,
      choices: [
        {
          index: 0,
          delta: { tool_calls: [{ index: 0, function: { arguments: '"x"}' } }] },
          finish_reason: null,
        },
      ],
    },
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
  ];
  if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage)
    chunks.push({
      ...base,
      choices: [],
      usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 },
    });
  return chunks;
}

function response(status: 'completed') {
  return {
    id: 'resp_1',
    object: 'response',
    created_at: CREATED,
    status,
    model: 'gpt-4.1-2025-04-14',
    output: [
      {
        type: 'message',
        id: 'msg_1',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Four.', annotations: [] }],
      },
      {
        type: 'function_call',
        id: 'fc_1',
        call_id: 'call_r',
        name: 'calc',
        arguments: '{"x":2}',
        status: 'completed',
      },
    ],
    usage: {
      input_tokens: 21,
      output_tokens: 3,
      total_tokens: 24,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
    },
    incomplete_details: null,
    error: null,
  };
}

/** A Responses stream in which the model fails after some output. */
function failedResponseEvents(): unknown[] {
  const [created, delta] = responseEvents();
  const failed = {
    ...response('completed'),
    status: 'failed',
    output: [],
    error: { code: 'server_error', message: 'The model crashed' },
  };
  return [created, delta, { type: 'response.failed', sequence_number: 2, response: failed }];
}

/** A chat stream as Azure sends it: a first chunk with an empty id and model, tool names repeated. */
function azureChunks(): unknown[] {
  const base = { id: 'chatcmpl-az', object: 'chat.completion.chunk', created: CREATED, model: 'gpt-4o' };
  const fn = (args: string) => ({
    ...base,
    choices: [
      {
        index: 0,
        delta: {
          tool_calls: [
            { index: 0, id: 'call_z', type: 'function', function: { name: 'lookup', arguments: args } },
          ],
        },
        finish_reason: null,
      },
    ],
  });
  return [
    { id: '', object: '', created: 0, model: '', choices: [], prompt_filter_results: [] },
    fn('{"q":'),
    fn('1}'),
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
  ];
}

/** A Responses stream whose deltas spell `Four.`, ending in `response.completed` with `done`. */
function responseEvents(done: { output: unknown[] } = response('completed')): unknown[] {
  return [
    {
      type: 'response.created',
      sequence_number: 0,
      response: { ...done, status: 'in_progress', output: [], usage: null },
    },
    {
      type: 'response.output_text.delta',
      sequence_number: 1,
      item_id: 'msg_1',
      output_index: 0,
      content_index: 0,
      delta: 'Fo',
    },
    {
      type: 'response.output_text.delta',
      sequence_number: 2,
      item_id: 'msg_1',
      output_index: 0,
      content_index: 0,
      delta: 'ur.',
    },
    { type: 'response.completed', sequence_number: 3, response: done },
  ];
}

/** Two choices (`n: 2`): the first a refusal, the second an answer. */
function refusalCompletion() {
  const message = (content: string | null, refusal: string | null) => ({
    role: 'assistant',
    content,
    refusal,
  });
  return {
    id: 'chatcmpl-r',
    object: 'chat.completion',
    created: CREATED,
    model: 'gpt-4o',
    choices: [
      { index: 0, logprobs: null, finish_reason: 'stop', message: message(null, 'I cannot help with that.') },
      { index: 1, logprobs: null, finish_reason: 'stop', message: message('Sure, here is how', null) },
    ],
  };
}

function refusalChunks(): string {
  const base = { id: 'chatcmpl-rs', object: 'chat.completion.chunk', created: CREATED, model: 'gpt-4o' };
  const chunks = [
    {
      ...base,
      choices: [{ index: 0, delta: { role: 'assistant', refusal: 'I cannot ' }, finish_reason: null }],
    },
    { ...base, choices: [{ index: 1, delta: { role: 'assistant', content: 'Sure' }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: { refusal: 'help.' }, finish_reason: 'stop' }] },
    { ...base, choices: [{ index: 1, delta: {}, finish_reason: 'stop' }] },
  ];
  return `${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`;
}

/** A chat completion that asks for a custom tool (free-text input, here a JSON-looking number). */
function customToolCompletion() {
  return {
    ...chatCompletion({}),
    choices: [
      {
        index: 0,
        logprobs: null,
        finish_reason: 'tool_calls',
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [{ id: 'call_c', type: 'custom', custom: { name: 'run_sql', input: '1.0' } }],
        },
      },
    ],
  };
}

/** A Responses result that asks for a custom tool. */
function customToolResponse() {
  return {
    ...response('completed'),
    output: [
      {
        type: 'custom_tool_call',
        id: 'ctc_1',
        call_id: 'call_ct',
        name: 'run_sql',
        input: 'DELETE FROM orders WHERE id = 7',
        status: 'completed',
      },
    ],
  };
}

/**
 * A Responses result in which the model also used the built-in tools, with the item shapes of
 * `openai` 6.x (`resources/responses/responses.d.ts`): computer use, local shell, shell, apply
 * patch and an MCP approval request for the application to act on, then the tools OpenAI ran
 * itself (web search with its sources and file search with its results, as `include` returns
 * them, three MCP calls: one answered, one failed, one cut short before it ran; the code
 * interpreter and image generation).
 */
function builtinToolsResponse() {
  const base = response('completed');
  return {
    ...base,
    output: [
      ...base.output,
      {
        type: 'computer_call',
        id: 'cu_1',
        call_id: 'call_cu',
        status: 'completed',
        action: { type: 'click', button: 'left', x: 10, y: 20 },
        pending_safety_checks: [{ id: 'cs_1', code: 'malicious_instructions', message: 'check the page' }],
      },
      {
        type: 'local_shell_call',
        id: 'ls_1',
        call_id: 'call_ls',
        status: 'completed',
        action: { type: 'exec', command: ['ls', '-la'], env: {}, working_directory: '/srv' },
      },
      {
        type: 'shell_call',
        id: 'sh_1',
        call_id: 'call_sh',
        status: 'completed',
        environment: null,
        action: { commands: ['git status'], max_output_length: null, timeout_ms: 10000 },
      },
      {
        type: 'apply_patch_call',
        id: 'ap_1',
        call_id: 'call_ap',
        status: 'completed',
        operation: { type: 'update_file', path: 'src/a.ts', diff: '@@\n-a\n+b\n' },
      },
      {
        type: 'mcp_approval_request',
        id: 'mcpr_1',
        server_label: 'crm',
        name: 'close_account',
        arguments: '{"customer":"C-42"}',
      },
      {
        type: 'web_search_call',
        id: 'ws_1',
        status: 'completed',
        action: {
          type: 'search',
          query: 'sealtrail license',
          sources: [{ type: 'url', url: 'https://example.com/license' }],
        },
      },
      {
        type: 'file_search_call',
        id: 'fs_1',
        status: 'completed',
        queries: ['refund policy'],
        results: [
          { file_id: 'file-1', filename: 'policy.pdf', score: 0.92, text: 'Refunds within 30 days.' },
        ],
      },
      {
        type: 'mcp_call',
        id: 'mcp_1',
        server_label: 'crm',
        name: 'find_customer',
        arguments: '{"customer":"C-42"}',
        output: '{"plan":"pro"}',
        error: null,
        status: 'completed',
      },
      {
        type: 'mcp_call',
        id: 'mcp_2',
        server_label: 'crm',
        name: 'delete_customer',
        arguments: '{"customer":"C-42"}',
        output: null,
        error: 'permission denied',
        status: 'failed',
      },
      {
        type: 'mcp_call',
        id: 'mcp_3',
        server_label: 'crm',
        name: 'notify_customer',
        arguments: '{"customer":"C-42"}',
        status: 'calling',
      },
      {
        type: 'code_interpreter_call',
        id: 'ci_1',
        status: 'completed',
        container_id: 'cntr_1',
        code: 'print(2 + 2)',
        outputs: [{ type: 'logs', logs: '4\n' }],
      },
      // the PNG signature, base64: the image itself must never reach the trail
      { type: 'image_generation_call', id: 'ig_1', status: 'completed', result: 'iVBORw0KGgo=' },
    ],
  };
}

let server: http.Server;
let baseURL: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d) => {
      text += d;
    });
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      if (body.model === 'overloaded') {
        res.writeHead(429, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              message: 'Rate limit reached',
              type: 'requests',
              code: 'rate_limit_exceeded',
              param: null,
            },
          }),
        );
        return;
      }
      if (body.model === 'stalls') {
        // two chunks, then nothing until the client goes away
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const chunk of chatChunks(body).slice(0, 2)) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
        return;
      }
      if (body.model === 'refuses') {
        res.writeHead(200, {
          'content-type': body.stream === true ? 'text/event-stream' : 'application/json',
        });
        res.end(body.stream === true ? refusalChunks() : JSON.stringify(refusalCompletion()));
        return;
      }
      if (body.model === 'custom-tool') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(req.url === '/v1/chat/completions' ? customToolCompletion() : customToolResponse()),
        );
        return;
      }
      if (body.model === 'empty') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '0' });
        res.end();
        return;
      }
      const streamed = body.stream === true;
      const items =
        body.model === 'fails'
          ? failedResponseEvents()
          : body.model === 'azure'
            ? azureChunks()
            : body.model === 'builtin-tools'
              ? streamed
                ? responseEvents(builtinToolsResponse())
                : builtinToolsResponse()
              : req.url === '/v1/chat/completions'
                ? streamed
                  ? chatChunks(body)
                  : chatCompletion(body)
                : streamed
                  ? responseEvents()
                  : response('completed');
      if (!streamed) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(items));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const item of items as unknown[]) {
        const event = (item as { type?: string }).type;
        res.write(
          `${req.url === '/v1/responses' && event ? `event: ${event}\n` : ''}data: ${JSON.stringify(item)}\n\n`,
        );
      }
      if (req.url === '/v1/chat/completions') res.write('data: [DONE]\n\n');
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

let a: Audit;
let plain: OpenAI;
let observed: OpenAI;
beforeEach(async () => {
  a = new Audit();
  await a.enable({ env: { NODE_ENV: 'test', SEALTRAIL_QUIET: '1' } });
  plain = new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0 });
  observed = auditOpenAI(plain, { audit: a });
});
afterEach(() => a.disable());

async function recorded(): Promise<AuditEntry[]> {
  await a.flush();
  return a.memoryStores[0]!.log.lines.map(decodeLine);
}

function strip(e: AuditEntry): Record<string, unknown> {
  const { id: _i, ts: _t, seq: _s, category: _c, severity: _v, latencyMs, ...rest } = e;
  expect(typeof latencyMs === 'number' && latencyMs >= 0, 'latencyMs is a duration').toBe(true);
  return rest;
}

describe('auditOpenAI', () => {
  it('records a chat completion, redacting the prompt, and returns what the plain client returns', async () => {
    const messages = [
      { role: 'system' as const, content: 'answer in one word' },
      { role: 'user' as const, content: 'Capital of France? My card is 4111 1111 1111 1111' },
    ];
    const got = await observed.chat.completions.create({ model: 'gpt-4o', messages });
    expect(got).toEqual(await plain.chat.completions.create({ model: 'gpt-4o', messages }));
    const [request, e, ...rest] = await recorded();
    expect(rest).toEqual([]);
    expect(a.memoryStores[0]!.log.lines.join('\n')).not.toContain('4111 1111 1111 1111');
    const prompt = [
      { role: 'system', content: 'answer in one word' },
      { role: 'user', content: 'Capital of France? My card is [CARD]' },
    ];
    const redactions = [{ path: 'content.prompt[1].content', kind: 'card', count: 1 }];
    const { id: _i, ts: _t, seq: _s, ...requestRest } = request!;
    expect(requestRest).toEqual({
      type: 'model.request',
      category: 'ai',
      severity: 'info',
      model: { provider: 'openai', name: 'gpt-4o' },
      meta: { api: 'chat.completions', stream: false },
      content: { prompt },
      redactions,
    });
    expect(strip(e!)).toEqual({
      type: 'model.completion',
      model: { provider: 'openai', name: 'gpt-4o' },
      usage: { inputTokens: 14, outputTokens: 2, totalTokens: 16 },
      outcome: 'success',
      meta: {
        api: 'chat.completions',
        stream: false,
        requestEntry: request!.id,
        finishReason: 'stop',
        responseId: 'chatcmpl-1',
        responseModel: 'gpt-4o-2024-08-06',
      },
      content: { prompt, response: 'Paris.' },
      redactions,
    });
  });

  it('records the tool calls a chat completion asks for', async () => {
    await observed.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'weather in Oslo?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
    });
    const [, e, call] = await recorded();
    expect(e).toMatchObject({
      meta: { finishReason: 'tool_calls', toolCalls: 1 },
      content: { response: '', toolCalls: [{ id: 'call_a', name: 'get_weather', args: { city: 'Oslo' } }] },
    });
    const { id: _i, ts: _t, seq: _s, ...rest } = call!;
    expect(rest).toEqual({
      type: 'tool.call',
      category: 'ai',
      severity: 'info',
      model: { provider: 'openai', name: 'gpt-4o' },
      resource: { type: 'tool', id: 'get_weather' },
      action: 'request',
      meta: { toolCallId: 'call_a', completionEntry: e!.id },
      content: { toolArgs: { city: 'Oslo' } },
    });
  });

  it('records a streamed chat completion with usage from the final chunk, passing every chunk through', async () => {
    const params = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content: 'greet me' }],
      stream: true as const,
      stream_options: { include_usage: true },
    };
    const seen: unknown[] = [];
    for await (const chunk of await observed.chat.completions.create(params)) seen.push(chunk);
    const expected: unknown[] = [];
    for await (const chunk of await plain.chat.completions.create(params)) expected.push(chunk);
    expect(seen).toEqual(expected);
    expect(seen).toHaveLength(7);
    // the unobserved client's call recorded nothing: one request, one completion, one tool call
    const [request, e, call, ...rest] = await recorded();
    expect(rest).toEqual([]);
    expect(request).toMatchObject({
      type: 'model.request',
      meta: { api: 'chat.completions', stream: true },
      content: { prompt: [{ role: 'user', content: 'greet me' }] },
    });
    expect(strip(e!)).toEqual({
      type: 'model.completion',
      model: { provider: 'openai', name: 'gpt-4o-mini' },
      usage: { inputTokens: 9, outputTokens: 4, totalTokens: 13 },
      outcome: 'success',
      meta: {
        api: 'chat.completions',
        stream: true,
        requestEntry: request!.id,
        finishReason: 'tool_calls',
        responseId: 'chatcmpl-2',
        responseModel: 'gpt-4o-mini',
        toolCalls: 1,
      },
      content: {
        prompt: [{ role: 'user', content: 'greet me' }],
        response: 'Bonjour',
        toolCalls: [{ id: 'call_s', name: 'lookup', args: { q: 'x' } }],
      },
    });
    expect(call).toMatchObject({
      type: 'tool.call',
      resource: { id: 'lookup' },
      content: { toolArgs: { q: 'x' } },
    });
  });

  it('marks a stream the caller stopped reading as incomplete', async () => {
    const stream = await observed.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    for await (const _chunk of stream) break;
    const [, e] = await recorded();
    expect(e).toMatchObject({ outcome: 'success', meta: { stream: true, incomplete: true } });
    expect(e!.usage).toBeUndefined();
  });

  it('records a Responses call', async () => {
    const got = await observed.responses.create({
      model: 'gpt-4.1',
      instructions: 'be exact',
      input: 'two plus two?',
    });
    expect(got.output_text).toBe('Four.');
    const [request, e, call] = await recorded();
    expect(request).toMatchObject({
      type: 'model.request',
      meta: { api: 'responses', stream: false },
      content: { prompt: 'two plus two?', instructions: 'be exact' },
    });
    expect(strip(e!)).toEqual({
      type: 'model.completion',
      model: { provider: 'openai', name: 'gpt-4.1' },
      usage: { inputTokens: 21, outputTokens: 3, totalTokens: 24 },
      outcome: 'success',
      meta: {
        api: 'responses',
        stream: false,
        requestEntry: request!.id,
        finishReason: 'completed',
        responseId: 'resp_1',
        responseModel: 'gpt-4.1-2025-04-14',
        toolCalls: 1,
      },
      content: {
        prompt: 'two plus two?',
        instructions: 'be exact',
        response: 'Four.',
        toolCalls: [{ id: 'call_r', name: 'calc', args: { x: 2 } }],
      },
    });
    expect(call).toMatchObject({
      type: 'tool.call',
      resource: { id: 'calc' },
      meta: { toolCallId: 'call_r' },
    });
  });

  it('records a streamed Responses call with usage from response.completed', async () => {
    const events: string[] = [];
    const stream = await observed.responses.create({
      model: 'gpt-4.1',
      input: 'two plus two?',
      stream: true,
    });
    for await (const event of stream) events.push(event.type);
    expect(events).toEqual([
      'response.created',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.completed',
    ]);
    const [, e] = await recorded();
    expect(e).toMatchObject({
      usage: { inputTokens: 21, outputTokens: 3, totalTokens: 24 },
      outcome: 'success',
      meta: { api: 'responses', stream: true, finishReason: 'completed', responseId: 'resp_1' },
      content: { prompt: 'two plus two?', response: 'Four.' },
    });
  });

  it('records an API error with its status and code, and the caller gets the same error class', async () => {
    const call = observed.chat.completions.create({
      model: 'overloaded',
      messages: [{ role: 'user', content: 'hi' }],
    });
    await expect(call).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    const [request, e, ...rest] = await recorded();
    expect(rest).toEqual([]);
    // the failed call's request is on record, with the prompt it sent
    expect(request).toMatchObject({
      type: 'model.request',
      model: { provider: 'openai', name: 'overloaded' },
      content: { prompt: [{ role: 'user', content: 'hi' }] },
    });
    expect(strip(e!)).toEqual({
      type: 'model.completion',
      model: { provider: 'openai', name: 'overloaded' },
      outcome: 'error',
      meta: { api: 'chat.completions', stream: false, requestEntry: request!.id },
      content: {
        prompt: [{ role: 'user', content: 'hi' }],
        error: {
          name: 'RateLimitError',
          message: expect.stringContaining('Rate limit reached'),
          code: 'rate_limit_exceeded',
          status: 429,
        },
      },
    });
  });

  it('keeps withResponse() working and leaves the original client unobserved', async () => {
    const { data, response } = await observed.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
      .withResponse();
    expect(data.id).toBe('chatcmpl-1');
    expect(response.status).toBe(200);
    await plain.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'y' }] });
    expect((await recorded()).map((e) => e.type)).toEqual(['model.request', 'model.completion']);
  });

  it('leaves the body of asResponse() unread for the caller, and records the call as raw', async () => {
    const res = await observed.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'raw please' }] })
      .asResponse();
    expect(((await res.json()) as { id: string }).id).toBe('chatcmpl-1');
    const [, e] = await recorded();
    expect(e).toMatchObject({
      outcome: 'success',
      meta: { api: 'chat.completions', rawResponse: true },
      content: { prompt: [{ role: 'user', content: 'raw please' }] },
    });
    expect(e!.content).not.toHaveProperty('response');
  });

  it("keeps the client's own methods working, and observes parse() and clients made by withOptions()", async () => {
    expect(observed.buildURL('/chat/completions', null)).toBe(plain.buildURL('/chat/completions', null));
    const direct = (await observed.post('/chat/completions', {
      body: { model: 'gpt-4o', messages: [] },
    })) as { id: string };
    expect(direct.id).toBe('chatcmpl-1');
    expect(observed.withOptions).toBe(observed.withOptions);
    const other = observed.withOptions({ timeout: 5000 });
    await other.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'a' }] });
    const parsed = await observed.chat.completions.parse({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'b' }],
    });
    expect(parsed.choices[0]!.message.content).toBe('Paris.');
    expect((await recorded()).map((e) => [e.type, e.content?.prompt])).toEqual([
      ['model.request', [{ role: 'user', content: 'a' }]],
      ['model.completion', [{ role: 'user', content: 'a' }]],
      ['model.request', [{ role: 'user', content: 'b' }]],
      ['model.completion', [{ role: 'user', content: 'b' }]],
    ]);
  });

  it('records a 200 with an empty body without breaking the call', async () => {
    const got = await observed.chat.completions.create({ model: 'empty', messages: [] });
    expect(got).toBeUndefined();
    const [, e] = await recorded();
    expect(e).toMatchObject({
      outcome: 'success',
      meta: { api: 'chat.completions' },
      content: { response: '' },
    });
  });

  it('records a stream read through .then(), the reaction the SDK registers first', async () => {
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const text = await observed.chat.completions
      .create({ model: 'gpt-4o', messages, stream: true })
      .then(async (stream) => {
        let t = '';
        for await (const chunk of stream) t += chunk.choices[0]?.delta?.content ?? '';
        return t;
      });
    expect(text).toBe('Bonjour');
    const [, e, ...rest] = await recorded();
    expect(rest.filter((x) => x.type === 'model.completion')).toEqual([]);
    expect(e).toMatchObject({ type: 'model.completion', content: { response: 'Bonjour' } });
  });

  it('leaves asResponse() asked for after the response arrived unread, and records the output from a copy', async () => {
    const call = observed.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'later' }],
    });
    await new Promise((r) => setTimeout(r, 100));
    const res = await call.asResponse();
    expect(((await res.json()) as { id: string }).id).toBe('chatcmpl-1');
    const [, e, ...rest] = await recorded();
    expect(rest).toEqual([]);
    expect(e).toMatchObject({ outcome: 'success', content: { response: 'Paris.' } });
  });

  it('records a refusal and every choice of n > 1, streamed or not', async () => {
    const messages = [{ role: 'user' as const, content: 'how do I...' }];
    await observed.chat.completions.create({ model: 'refuses', messages, n: 2 });
    const stream = await observed.chat.completions.create({ model: 'refuses', messages, n: 2, stream: true });
    for await (const _chunk of stream);
    const [, whole, , streamed] = await recorded();
    expect(whole).toMatchObject({
      meta: { refusal: true, choices: 2 },
      content: {
        response: '',
        refusal: 'I cannot help with that.',
        otherChoices: [{ index: 1, response: 'Sure, here is how', finishReason: 'stop' }],
      },
    });
    expect(streamed).toMatchObject({
      meta: { refusal: true, choices: 2 },
      content: {
        refusal: 'I cannot help.',
        otherChoices: [{ index: 1, response: 'Sure', finishReason: 'stop' }],
      },
    });
  });

  it('records a stream aborted before anyone read it', async () => {
    const stream = await observed.chat.completions.create({
      model: 'stalls',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    stream.controller.abort();
    const [, e] = await recorded();
    expect(e).toMatchObject({ outcome: 'success', meta: { incomplete: true, aborted: true } });
  });

  it('marks a stream aborted through its controller as incomplete and aborted', async () => {
    const stream = await observed.chat.completions.create({
      model: 'stalls',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let chunks = 0;
    for await (const _chunk of stream) if (++chunks === 2) stream.controller.abort();
    expect(chunks).toBe(2);
    const [, e] = await recorded();
    expect(e).toMatchObject({ outcome: 'success', meta: { incomplete: true, aborted: true } });
  });

  it('records a Responses stream that ends in response.failed as an error', async () => {
    const stream = await observed.responses.create({ model: 'fails', input: 'x', stream: true });
    for await (const _event of stream);
    const [, e] = await recorded();
    expect(e).toMatchObject({
      outcome: 'error',
      meta: { finishReason: 'failed' },
      content: { error: { name: 'ResponseFailed', code: 'server_error', message: 'The model crashed' } },
    });
    expect(e!.meta).not.toHaveProperty('incomplete');
  });

  it('records the custom tool calls a chat completion and a Responses call ask for, their input as sent', async () => {
    await observed.chat.completions.create({
      model: 'custom-tool',
      messages: [{ role: 'user', content: 'sum' }],
    });
    await observed.responses.create({ model: 'custom-tool', input: 'clean up order 7' });
    const [, chat, chatCall, , resp, respCall] = await recorded();
    expect(chat).toMatchObject({
      meta: { toolCalls: 1 },
      content: { toolCalls: [{ id: 'call_c', name: 'run_sql', args: '1.0' }] },
    });
    expect(chatCall).toMatchObject({
      type: 'tool.call',
      resource: { type: 'tool', id: 'run_sql' },
      meta: { toolCallId: 'call_c', completionEntry: chat!.id },
      content: { toolArgs: '1.0' },
    });
    expect(resp).toMatchObject({
      meta: { toolCalls: 1 },
      content: { toolCalls: [{ id: 'call_ct', name: 'run_sql', args: 'DELETE FROM orders WHERE id = 7' }] },
    });
    expect(respCall).toMatchObject({
      type: 'tool.call',
      resource: { type: 'tool', id: 'run_sql' },
      meta: { toolCallId: 'call_ct' },
      content: { toolArgs: 'DELETE FROM orders WHERE id = 7' },
    });
  });

  it("reads Azure's empty first chunk and repeated tool names", async () => {
    const stream = await observed.chat.completions.create({ model: 'azure', messages: [], stream: true });
    for await (const _chunk of stream);
    const [, e, call] = await recorded();
    expect(e).toMatchObject({ meta: { responseId: 'chatcmpl-az', responseModel: 'gpt-4o' } });
    expect(e!.meta).not.toHaveProperty('incomplete');
    expect(call).toMatchObject({ resource: { id: 'lookup' }, content: { toolArgs: { q: 1 } } });
  });

  describe('when a Responses call uses the built-in tools', () => {
    const input = 'tidy up the repository';

    it('records the computer, shell, patch and MCP approval requests as tool calls, their actions as sent', async () => {
      await observed.responses.create({ model: 'builtin-tools', input });
      const [, e, calc, computer, localShell, shell, patch, approval] = await recorded();
      const toolCalls = [
        { id: 'call_r', name: 'calc', args: { x: 2 } },
        { id: 'call_cu', name: 'computer', args: { type: 'click', button: 'left', x: 10, y: 20 } },
        {
          id: 'call_ls',
          name: 'local_shell',
          args: { type: 'exec', command: ['ls', '-la'], env: {}, working_directory: '/srv' },
        },
        {
          id: 'call_sh',
          name: 'shell',
          args: { commands: ['git status'], max_output_length: null, timeout_ms: 10000 },
        },
        {
          id: 'call_ap',
          name: 'apply_patch',
          args: { type: 'update_file', path: 'src/a.ts', diff: '@@\n-a\n+b\n' },
        },
        { id: 'mcpr_1', name: 'close_account', args: { customer: 'C-42' } },
      ];
      expect(e).toMatchObject({
        type: 'model.completion',
        meta: { toolCalls: 6, serverToolCalls: 7 },
        content: { response: 'Four.', toolCalls },
      });
      expect([calc, computer, localShell, shell, patch, approval]).toEqual(
        toolCalls.map((t) => ({
          id: expect.any(String),
          ts: expect.any(String),
          seq: expect.any(Number),
          type: 'tool.call',
          category: 'ai',
          severity: 'info',
          model: { provider: 'openai', name: 'builtin-tools' },
          resource: { type: 'tool', id: t.name },
          action: 'request',
          meta: {
            toolCallId: t.id,
            completionEntry: e!.id,
            ...(t.name === 'computer' ? { pendingSafetyChecks: 1 } : {}),
          },
          content: { toolArgs: t.args },
        })),
      );
    });

    it('records the tools OpenAI ran with what they did, and never the generated image', async () => {
      await observed.responses.create({ model: 'builtin-tools', input });
      const entries = await recorded();
      const [, e] = entries;
      const ran = entries
        .slice(8)
        .map(({ id: _i, ts: _t, seq: _s, category: _c, severity: _v, ...rest }) => rest);
      const model = { provider: 'openai', name: 'builtin-tools' };
      const link = { completionEntry: e!.id };
      expect(ran).toEqual([
        {
          type: 'rag.query',
          model,
          resource: { type: 'retriever', id: 'web_search' },
          action: 'search',
          outcome: 'success',
          meta: { toolCallId: 'ws_1', status: 'completed', documents: 1, ...link },
          content: {
            query: { type: 'search', query: 'sealtrail license' },
            documents: [{ type: 'url', url: 'https://example.com/license' }],
          },
        },
        {
          type: 'rag.query',
          model,
          resource: { type: 'retriever', id: 'file_search' },
          action: 'search',
          outcome: 'success',
          meta: { toolCallId: 'fs_1', status: 'completed', documents: 1, ...link },
          content: {
            query: ['refund policy'],
            documents: [
              { file_id: 'file-1', filename: 'policy.pdf', score: 0.92, text: 'Refunds within 30 days.' },
            ],
          },
        },
        {
          type: 'tool.result',
          model,
          resource: { type: 'tool', id: 'find_customer', server: 'crm' },
          action: 'execute',
          outcome: 'success',
          meta: { toolCallId: 'mcp_1', status: 'completed', ...link },
          content: { toolArgs: { customer: 'C-42' }, toolResult: '{"plan":"pro"}' },
        },
        {
          type: 'tool.result',
          model,
          resource: { type: 'tool', id: 'delete_customer', server: 'crm' },
          action: 'execute',
          outcome: 'error',
          meta: { toolCallId: 'mcp_2', status: 'failed', ...link },
          content: {
            toolArgs: { customer: 'C-42' },
            error: { name: 'McpCallFailed', message: 'permission denied' },
          },
        },
        {
          type: 'tool.call',
          model,
          resource: { type: 'tool', id: 'notify_customer', server: 'crm' },
          action: 'request',
          meta: { toolCallId: 'mcp_3', status: 'calling', ...link },
          content: { toolArgs: { customer: 'C-42' } },
        },
        {
          type: 'tool.result',
          model,
          resource: { type: 'tool', id: 'code_interpreter' },
          action: 'execute',
          outcome: 'success',
          meta: { toolCallId: 'ci_1', status: 'completed', containerId: 'cntr_1', ...link },
          content: { toolArgs: 'print(2 + 2)', toolResult: [{ type: 'logs', logs: '4\n' }] },
        },
        {
          type: 'tool.result',
          model,
          resource: { type: 'tool', id: 'image_generation' },
          action: 'execute',
          outcome: 'success',
          meta: { toolCallId: 'ig_1', status: 'completed', ...link },
        },
      ]);
      expect(a.memoryStores[0]!.log.lines.join('\n')).not.toContain('iVBORw0KGgo');
    });

    it('records the same items when the call is streamed, from response.completed', async () => {
      await observed.responses.create({ model: 'builtin-tools', input });
      for await (const _event of await observed.responses.create({
        model: 'builtin-tools',
        input,
        stream: true,
      }));
      const entries = await recorded();
      expect(entries).toHaveLength(30);
      const comparable = (list: AuditEntry[]) =>
        list.map(({ id: _i, ts: _t, seq: _s, latencyMs: _l, meta, ...rest }) => {
          const {
            completionEntry: _e,
            requestEntry: _r,
            stream: _st,
            ...kept
          } = meta as Record<string, unknown>;
          return { ...rest, meta: kept };
        });
      // each call: its request, its completion, 6 tool calls and 7 tools OpenAI ran
      expect(entries[16]).toMatchObject({
        meta: { stream: true, requestEntry: entries[15]!.id, toolCalls: 6, serverToolCalls: 7 },
      });
      expect(comparable(entries.slice(15))).toEqual(comparable(entries.slice(0, 15)));
      for (const call of entries.slice(17))
        expect(call.meta).toMatchObject({ completionEntry: entries[16]!.id });
    });

    it('keeps their arguments, queries and outputs out of the trail when content recording is off', async () => {
      await auditOpenAI(plain, { audit: a, recordContent: false }).responses.create({
        model: 'builtin-tools',
        input,
      });
      const entries = await recorded();
      expect(entries).toHaveLength(15);
      expect(entries[0]).toMatchObject({ type: 'model.request', meta: { api: 'responses' } });
      expect(entries.filter((x) => x.content !== undefined)).toEqual([
        expect.objectContaining({
          resource: { type: 'tool', id: 'delete_customer', server: 'crm' },
          content: { error: { name: 'McpCallFailed', message: 'permission denied' } },
        }),
      ]);
      expect(entries[9]).toMatchObject({ type: 'rag.query', meta: { documents: 1 } });
    });
  });
});

describe('auditOpenAI when OpenAI never answers', () => {
  let provider: SilentServer;
  beforeAll(async () => {
    provider = await startSilentServer();
  });
  afterAll(() => provider.close());

  it.each([false, true])(
    'has the request on record while the call hangs (stream: %s), and links the completion once it is aborted',
    async (stream) => {
      const client = auditOpenAI(
        new OpenAI({ apiKey: 'sk-test', baseURL: `${provider.url}/v1`, maxRetries: 0 }),
        { audit: a },
      );
      const abort = new AbortController();
      const messages = [{ role: 'user' as const, content: 'Refund order 7 to card 4111 1111 1111 1111' }];
      const call = client.chat.completions.create(
        { model: 'gpt-4o', messages, stream },
        { signal: abort.signal },
      );
      call.catch(() => {}); // settled below, once aborted
      // OpenAI holds the request: the call is under way, and no answer has come
      expect(await provider.nextRequest()).toMatchObject({ model: 'gpt-4o', messages });
      const [request, ...rest] = await recorded();
      expect(rest).toEqual([]);
      const { id: _i, ts: _t, seq: _s, ...requestRest } = request!;
      expect(requestRest).toEqual({
        type: 'model.request',
        category: 'ai',
        severity: 'info',
        model: { provider: 'openai', name: 'gpt-4o' },
        meta: { api: 'chat.completions', stream },
        content: { prompt: [{ role: 'user', content: 'Refund order 7 to card [CARD]' }] },
        redactions: [{ path: 'content.prompt[0].content', kind: 'card', count: 1 }],
      });
      abort.abort();
      await expect(call).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
      const [, completion, ...after] = await recorded();
      expect(after).toEqual([]);
      expect(completion).toMatchObject({
        type: 'model.completion',
        outcome: 'error',
        meta: { api: 'chat.completions', stream, requestEntry: request!.id },
        content: { error: { name: 'APIUserAbortError' } },
      });
    },
  );
});

describe('auditOpenAI in a request context', () => {
  it('gives the request the attribution of its completion', async () => {
    // awaited inside the request, as a handler does: the completion is recorded when the result is asked for
    await runWithRequestContext(CONTEXT, async () => {
      await observed.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'hi' }],
      });
    });
    const [request, completion] = await recorded();
    expect(request!.type).toBe('model.request');
    expect(attribution(request)).toEqual(ATTRIBUTED);
    expect(attribution(completion)).toEqual(ATTRIBUTED);
  });

  it('gives the completion the attribution of the request that made the call, wherever it is awaited', async () => {
    // made inside the request, its result asked for outside it (the SDK parses when asked)
    const call = runWithRequestContext(CONTEXT, () =>
      observed.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    );
    await call;
    const [request, completion] = await recorded();
    expect(attribution(request)).toEqual(ATTRIBUTED);
    expect(completion!.type).toBe('model.completion');
    expect(attribution(completion)).toEqual(ATTRIBUTED);
  });
});

describe('auditOpenAI into a trail that hashes content', () => {
  it("stores the request's prompt as the same keyed hash as the completion's", async () => {
    const hashing = new Audit();
    await hashing.enable({
      env: {
        NODE_ENV: 'production',
        SEALTRAIL_KEY: '7e'.repeat(32),
        SEALTRAIL_ALLOW_DISABLE: '1',
        SEALTRAIL_QUIET: '1',
      },
      destination: 'memory',
    });
    try {
      await auditOpenAI(plain, { audit: hashing }).chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'what is our refund policy?' }],
      });
      await hashing.flush();
      const lines = hashing.memoryStores[0]!.log.lines;
      const [request, completion] = lines.map(decodeLine).filter((e) => e.type.startsWith('model.'));
      expect(lines.join('\n')).not.toContain('refund policy');
      expect(request).toMatchObject({ type: 'model.request', contentModes: { prompt: 'hash' } });
      expect(completion!.contentModes).toEqual({ prompt: 'hash', response: 'hash' });
      expect(request!.content?.prompt).toEqual(completion!.content?.prompt);
    } finally {
      await hashing.disable();
    }
  });
});

describe('auditOpenAI with recordRequests false', () => {
  it('records the completion alone, unlinked', async () => {
    await auditOpenAI(plain, { audit: a, recordRequests: false }).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const [e, ...rest] = await recorded();
    expect(rest).toEqual([]);
    expect(e).toMatchObject({ type: 'model.completion', content: { response: 'Paris.' } });
    expect(e!.meta).not.toHaveProperty('requestEntry');
  });
});
