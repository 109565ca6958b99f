/** Shared by the examples: a throwaway trail directory, and printing what was recorded. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeLine, verifyDir } from '../src/index.js';
import { DirSource } from '../src/store/index.js';

/** A new empty directory for the example's trail. */
export function exampleDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sealtrail-${name}-`));
}

/** Verifies the trail and prints one line per entry. */
export async function showTrail(dir: string): Promise<void> {
  for (const line of new DirSource(dir).lines()) {
    const e = decodeLine(line.text);
    const who = (e.actor as { id?: string } | undefined)?.id ?? '-';
    const conv = e.conversation as { id: string; turn?: number } | undefined;
    console.log(
      `#${e.seq} ${e.type} actor=${who}${conv ? ` conv=${conv.id}#${conv.turn ?? '?'}` : ''} ${JSON.stringify(e.content ?? {}).slice(0, 100)}`,
    );
  }
  const report = await verifyDir(dir);
  console.log(`verify: ${report.ok ? 'ok' : 'FAILED'} (${dir})`);
}
