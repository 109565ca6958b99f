/**
 * No seal key stays in use longer than an epoch: a trail opened and closed often runs ahead of its
 * seal schedule (each close seals its partial epoch), and a writer opened then still seals within
 * an epoch's length instead of waiting for the wall clock to catch up.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryTrailStore, openMemoryAppender } from './open-memory.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('seal epochs', () => {
  it('are sealed an epoch after their key came into use, even ahead of the schedule', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const store = new MemoryTrailStore('example.test/epochs', 1000);
    // five short runs within the first epoch: epochs 0-4 sealed, the schedule 4 epochs behind
    for (let run = 0; run < 5; run++) {
      const opened = openMemoryAppender(store);
      opened.appender.close();
      opened.release();
    }
    expect(store.state.lastSeal()?.epoch).toBe(4);
    const { appender } = openMemoryAppender(store);
    vi.setSystemTime(1_000_000 + 999);
    appender.tick();
    expect(store.state.lastSeal()?.epoch).toBe(4); // the key of epoch 5 is not yet an epoch old
    vi.setSystemTime(1_000_000 + 1000);
    appender.tick();
    const seal = store.state.lastSeal()!;
    expect(seal.epoch).toBe(5);
    expect(seal.end).toBeGreaterThan(Date.now()); // sealed before its scheduled end
    vi.setSystemTime(1_000_000 + 2000);
    appender.tick();
    expect(store.state.lastSeal()?.epoch).toBe(6);
    appender.close();
  });
});
