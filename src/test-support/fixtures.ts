/**
 * Test helpers: throwaway trail directories, sample AI events, and line-level file surgery used
 * by the tamper tests. Not part of the package.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditEventInput } from '../event/index.js';

/** A fresh temporary directory (the caller removes it). */
export function tempDir(prefix = 'sealtrail-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Trail directories (`<temp>/audit`, not yet created) and fresh temporary directories (`root`)
 * for one test file, removed by `cleanup()` (call it from `afterEach` or `afterAll`).
 */
export function trailDirs(): { fresh(): string; root(): string; cleanup(): void } {
  const roots: string[] = [];
  const root = () => {
    const made = tempDir();
    roots.push(made);
    return made;
  };
  return {
    fresh: () => path.join(root(), 'audit'),
    root,
    cleanup() {
      for (const d of roots.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    },
  };
}

/** A realistic AI event of about 1 KB. */
export function sampleEvent(i: number): AuditEventInput {
  return {
    type: 'model.completion',
    actor: { id: `user-${i % 17}`, type: 'user', sessionId: `sess-${i % 5}`, ip: '203.0.113.7' },
    conversation: { id: `conv-${i % 3}`, turn: i },
    model: { provider: 'openai', name: 'gpt-4o' },
    usage: { inputTokens: 312, outputTokens: 128, totalTokens: 440 },
    latencyMs: 842,
    outcome: 'success',
    content: {
      prompt: `Summarize the quarterly report for ACME (${i}) and list the three main risks. `.repeat(5),
      response: 'Revenue grew 12%; the risks are supply chain, currency and regulation. '.repeat(5),
    },
    meta: { app: 'assistant', region: 'eu-west-1' },
  };
}

/** The path of the only (or first) segment file of a trail. */
export function segmentFiles(dir: string): string[] {
  const seg = path.join(dir, 'segments');
  return fs
    .readdirSync(seg)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => path.join(seg, f));
}

/** Reads a segment's lines (without the final newline). */
export function readSegmentLines(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return text.slice(0, -1).split('\n');
}

/** Writes lines back to a segment file. */
export function writeSegmentLines(file: string, lines: string[]): void {
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
}

/**
 * Rewrites a sealed segment's summary to match the segment's bytes as they are now (checksum and
 * byte count), as someone who edits the files would, so that the summary check does not fail first.
 */
export function resealSummary(segmentFile: string): void {
  const summaryFile = segmentFile.replace(/\.log$/, '.summary.json');
  const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as Record<string, unknown>;
  const bytes = fs.readFileSync(segmentFile);
  summary.sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  summary.bytes = bytes.length;
  fs.writeFileSync(summaryFile, JSON.stringify(summary));
}

/**
 * Writes a self-signed P-256 certificate for localhost (and 127.0.0.1) and its key, made by the
 * openssl command; returns false when it could not make them.
 */
export function selfSignedCert(keyFile: string, certFile: string): boolean {
  const made = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-days',
    '1',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return made.status === 0;
}
