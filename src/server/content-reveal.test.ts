/**
 * Reading encrypted content through the collector (real server on loopback, real encrypted trail):
 * a `read:content` reader gets the plaintext and each decryption is recorded in its `audit.read`
 * entry; a `read` reader gets the payloads withheld; the segment files never hold the plaintext.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRing } from '../keys/index.js';
import { type AuditEntry, getEntry, query, verifyDir } from '../read/index.js';
import { Collector } from './collector.js';
import { TrailDecryption } from './content-reveal.js';
import { createToken } from './tokens.js';

const ORIGIN = 'example.test/collector-encrypted';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-reveal-'));
const dir = path.join(tmp, 'audit');
const ring = () => KeyRing.fromKeys([{ id: 'k1', key: KEY }], { context: ORIGIN, current: 'k1' });
const KEY = randomBytes(32);
const SECRET = 'the merger closes on friday';
let collector: Collector;
let base: string;
const tok: Record<string, string> = {};
let ids: string[] = [];

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, read field by field in assertions
type Json = any;

async function get(token: string, url: string): Promise<{ status: number; text: string; body: Json }> {
  const res = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) };
}

async function reads(): Promise<AuditEntry[]> {
  await collector.trail.flush();
  const out: AuditEntry[] = [];
  for await (const e of query(dir, { type: 'audit.read' }, { order: 'oldest' })) out.push(e);
  return out;
}

beforeAll(async () => {
  tok.ingest = createToken(dir, { name: 'app', scopes: ['ingest'] }).token;
  tok.read = createToken(dir, { name: 'analyst', scopes: ['read'] }).token;
  tok.content = createToken(dir, { name: 'investigator', scopes: ['read:content'] }).token;
  collector = await Collector.open({ dir, trail: { origin: ORIGIN, content: 'encrypt', keys: ring() } });
  base = (await collector.listen({ port: 0 })).url;
  const events = [0, 1].map((turn) => ({
    type: 'model.completion',
    actor: { id: 'alice' },
    conversation: { id: 'conv-secret', turn },
    content: { prompt: `${SECRET} (${turn})`, response: 'noted' },
  }));
  const res = await fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tok.ingest}`, 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  ids = ((await res.json()) as { ids: string[] }).ids;
});

afterAll(async () => {
  await collector.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('reading encrypted content through the collector', () => {
  it('stores only ciphertext', async () => {
    await collector.trail.flush();
    const bytes = fs
      .readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'utf8'))
      .join('');
    expect(bytes).not.toContain(SECRET);
    expect(bytes).toContain('st1:');
  });

  describe('with a read:content token', () => {
    it('lists events with the content decrypted and records the decryptions with the reader', async () => {
      const before = (await reads()).length;
      const res = await get(tok.content!, '/v1/events?type=model.completion&order=oldest');
      expect(res.status).toBe(200);
      expect(res.body.events.map((e: AuditEntry) => e.content?.prompt)).toEqual([
        `${SECRET} (0)`,
        `${SECRET} (1)`,
      ]);
      const recorded = (await reads()).slice(before);
      expect(recorded).toHaveLength(1);
      expect(recorded[0]!.actor).toMatchObject({ id: 'investigator', authMethod: 'bearer_token' });
      expect(recorded[0]!.meta).toMatchObject({ verb: 'api.query', decrypted: 4, decryptedEntries: 2 });
    });

    it('decrypts a single event and a conversation', async () => {
      const one = await get(tok.content!, `/v1/events/${ids[0]}`);
      expect(one.body.event.content.prompt).toBe(`${SECRET} (0)`);
      const conv = await get(tok.content!, '/v1/conversations/conv-secret');
      const prompts = conv.body.turns.flatMap((t: { entries: Array<{ entry: AuditEntry }> }) =>
        t.entries.map((e) => e.entry.content?.prompt),
      );
      expect(prompts).toEqual([`${SECRET} (0)`, `${SECRET} (1)`]);
      const recorded = (await reads()).slice(-2);
      expect(recorded.map((r) => [r.action, (r.meta as { decrypted?: number }).decrypted])).toEqual([
        ['api.get', 2],
        ['api.conversation', 4],
      ]);
    });

    it('records that a tail may decrypt when it opens, before it sends any entry', async () => {
      const ctl = new AbortController();
      const res = await fetch(`${base}/v1/tail?type=model.completion`, {
        headers: { authorization: `Bearer ${tok.content}` },
        signal: ctl.signal,
      });
      expect(res.status).toBe(200);
      const opened = (await reads()).filter((r) => r.action === 'api.tail');
      ctl.abort();
      expect(opened.at(-1)?.meta).toMatchObject({ verb: 'api.tail', count: 0, mayDecrypt: true });
      expect(opened.at(-1)?.actor).toMatchObject({ id: 'investigator' });
    });

    it('finds events by free text in the decrypted content', async () => {
      const res = await get(
        tok.content!,
        `/v1/events?text=${encodeURIComponent('(1)')}&type=model.completion`,
      );
      expect(res.body.events.map((e: AuditEntry) => e.id)).toEqual([ids[1]]);
    });
  });

  describe('with a read token', () => {
    it('withholds the payloads, shows no plaintext, and records no decryption', async () => {
      const list = await get(tok.read!, '/v1/events?type=model.completion');
      const one = await get(tok.read!, `/v1/events/${ids[0]}`);
      const conv = await get(tok.read!, '/v1/conversations/conv-secret');
      for (const res of [list, one, conv]) {
        expect(res.status).toBe(200);
        expect(res.text).not.toContain(SECRET);
      }
      expect(list.body.events[0].contentWithheld).toEqual(['prompt', 'response']);
      expect(list.body.events[0].content).toBeUndefined();
      const recorded = (await reads()).slice(-3);
      expect(recorded.every((r) => (r.meta as { decrypted?: number }).decrypted === undefined)).toBe(true);
      expect(recorded.every((r) => (r.actor as { id: string }).id === 'analyst')).toBe(true);
    });

    it('opens a tail recorded without mayDecrypt', async () => {
      const ctl = new AbortController();
      const res = await fetch(`${base}/v1/tail`, {
        headers: { authorization: `Bearer ${tok.read}` },
        signal: ctl.signal,
      });
      expect(res.status).toBe(200);
      const opened = (await reads()).filter((r) => r.action === 'api.tail');
      ctl.abort();
      expect(opened.at(-1)?.actor).toMatchObject({ id: 'analyst' });
      expect(opened.at(-1)?.meta).not.toHaveProperty('mayDecrypt');
    });
  });

  describe('when the collector has no key for the trail', () => {
    it('shows the payloads sealed, names the error per field, and counts no decryption', async () => {
      const env = process.env.SEALTRAIL_KEY;
      delete process.env.SEALTRAIL_KEY;
      try {
        const request = new TrailDecryption(dir, ORIGIN, undefined).forRequest();
        const entry = await getEntry(dir, ids[0]!, { reveal: request.reveal });
        expect(entry?.content?.prompt).toMatch(/^st1:/);
        expect(entry?.contentSealed).toEqual({ prompt: 'KEY_NOT_FOUND', response: 'KEY_NOT_FOUND' });
        expect(request.meta()).toEqual({});
      } finally {
        if (env !== undefined) process.env.SEALTRAIL_KEY = env;
      }
    });
  });

  it('leaves the trail verifying', async () => {
    await collector.trail.flush();
    expect(verifyDir(dir).ok).toBe(true);
  });
});
