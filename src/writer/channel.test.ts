import { afterEach, describe, expect, it } from 'vitest';
import { prepareEvent } from '../event/prepare.js';
import { DirSource } from '../store/index.js';
import { sampleEvent, trailDirs } from '../test-support/fixtures.js';
import { WorkerChannel } from './channel.js';
import { BatchBuilder } from './framing.js';

const dirs = trailDirs();
afterEach(() => dirs.cleanup());

describe('WorkerChannel', () => {
  it('gives back the buffer of each batch once the batch is written', async () => {
    const dir = dirs.fresh();
    const given: ArrayBuffer[] = [];
    let durable = 0;
    const { channel } = await WorkerChannel.start(
      { dir },
      { onDurable: (n) => (durable = n), onError: () => {}, onRecycle: (b) => given.push(b) },
    );
    const framer = new BatchBuilder();
    const sizes: number[] = [];
    for (let batch = 0; batch < 3; batch++) {
      for (let i = 0; i < 10; i++) framer.add(prepareEvent(sampleEvent(10 * batch + i)));
      const data = framer.take();
      sizes.push(data.buffer.byteLength);
      channel.send(data, 10, undefined);
      expect(data.buffer.byteLength).toBe(0); // transferred
    }
    while (given.length < 3 || durable < 30) await new Promise((r) => setTimeout(r, 5));
    await channel.close();
    expect(given.map((b) => b.byteLength)).toEqual(sizes);
    const lines = [...new DirSource(dir).lines()];
    expect(lines).toHaveLength(30);
  });
});
