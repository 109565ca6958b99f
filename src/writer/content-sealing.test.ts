/**
 * Content encryption in the writer thread: what the framed batch carries, what the stored value
 * becomes, and that a slot the trail dropped is never used again.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { prepareEvent } from '../event/prepare.js';
import { KeyRing } from '../keys/index.js';
import { createContentProtector, decryptContent } from '../protect/content-modes.js';
import { ContentKeyTable } from './content-sealing.js';
import { frameEvent } from './framing.js';
import { type FramedEvent, forEachFramed } from './line-builder.js';

const ORIGIN = 'example.test/sealing';
const ring = KeyRing.fromKeys([{ id: 'k1', key: randomBytes(32) }], { context: ORIGIN });

function framed(slot: number | undefined) {
  const protect = createContentProtector(
    ORIGIN,
    { default: 'plain', fields: { prompt: 'encrypt' } },
    {
      ring,
      encryptLater: true,
    },
  );
  const p = prepareEvent(
    { type: 'model.completion', content: { prompt: 'a secret "question"\n', response: 'plain answer' } },
    { protect },
  );
  if (slot !== undefined) p.protectLater!.slot = slot;
  const src = Buffer.from(frameEvent(p));
  const events: FramedEvent[] = [];
  forEachFramed(src, (ev) => events.push({ ...ev, content: [...ev.content] }));
  return { p, src, ev: events[0]! };
}

const storedValue = (src: Buffer, ev: FramedEvent, i: number) =>
  src.toString('utf8', ev.content[4 * i + 2], ev.content[4 * i + 3]);

describe('content sealed by the writer', () => {
  it('leaves encrypt fields plain on the caller and marks them with their slot and entry id', () => {
    const { p, ev } = framed(7);
    expect(p.protectLater).toEqual({ subject: undefined, fields: ['prompt'], slot: 7 });
    expect(p.eventJson).toContain('"contentModes":{"prompt":"encrypt"}');
    expect(ev.seal).toEqual({ slot: 7, id: p.id });
    expect(ev.ts).toBe(p.ts);
  });

  it('encrypts only the marked field, bound to the origin, entry id and field name', () => {
    const { p, src, ev } = framed(3);
    const table = new ContentKeyTable();
    table.add([{ slot: 3, keyId: 'k1', key: ring.purposeKey('k1', 'encryption') }]);
    const out = table.seal(src, ev, ORIGIN);
    expect(out.src.toString('utf8', out.ev.eventStart, out.ev.eventEnd)).toBe(p.eventJson);
    const names = [0, 1].map((i) =>
      out.src.toString('latin1', out.ev.content[4 * i], out.ev.content[4 * i + 1]),
    );
    expect(names).toEqual(['prompt', 'response']);
    const stored = JSON.parse(storedValue(out.src, out.ev, 0)) as string;
    expect(stored.startsWith('st1:k1:')).toBe(true);
    expect(decryptContent(ring, ORIGIN, p.id, 'prompt', stored)).toBe('a secret "question"\n');
    expect(() => decryptContent(ring, ORIGIN, p.id, 'response', stored)).toThrow();
    expect(storedValue(out.src, out.ev, 1)).toBe('"plain answer"');
  });

  it('binds each event of a run to its own entry id, under any origin', () => {
    const origin = 'exämple.test/ünïcode';
    const table = new ContentKeyTable();
    table.add([{ slot: 3, keyId: 'k1', key: ring.purposeKey('k1', 'encryption') }]);
    for (let n = 0; n < 3; n++) {
      const { p, src, ev } = framed(3);
      const out = table.seal(src, ev, origin);
      const stored = JSON.parse(storedValue(out.src, out.ev, 0)) as string;
      expect(decryptContent(ring, origin, p.id, 'prompt', stored)).toBe('a secret "question"\n');
      expect(() => decryptContent(ring, ORIGIN, p.id, 'prompt', stored)).toThrow();
    }
  });

  it('refuses a slot it was never given or has dropped', () => {
    const { src, ev } = framed(5);
    const table = new ContentKeyTable();
    expect(() => table.seal(src, ev, ORIGIN)).toThrow('no content key in slot 5');
    table.add([{ slot: 5, keyId: 'k1', key: ring.purposeKey('k1', 'encryption') }]);
    table.forget([5]);
    expect(() => table.seal(src, ev, ORIGIN)).toThrow('no content key in slot 5');
  });

  it('frames events without a slot as before', () => {
    const { ev } = framed(undefined);
    expect(ev.seal).toBeUndefined();
  });
});
