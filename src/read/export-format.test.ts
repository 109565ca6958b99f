/**
 * CSV cells against spreadsheet formula injection (every dangerous first character), RFC 4180
 * quoting, and JSON output keeping values exactly while escaping hostile code points.
 */
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../test-support/read-fixtures.js';
import type { AuditEntry } from './entry.js';
import { CSV_COLUMNS, csvCell, csvRow, entryWriter, jsonLine } from './export-format.js';

const DANGEROUS = ['=', '+', '-', '@', '\t', '\r', '\n', '\uff1d', '\uff0b', '\uff0d', '\uff20'];

describe('csvCell', () => {
  for (const p of DANGEROUS) {
    const name = JSON.stringify(p);
    it(`neutralizes a cell starting with ${name} by a leading quote`, () => {
      const value = `${p}HYPERLINK("http://evil.example","x")`;
      const [[cell]] = parseCsv(`${csvCell(value)}\r\n`) as [[string]];
      expect(cell).toBe(`'${value}`);
    });
  }
  for (const lead of [' ', '  ', '\n', '\u00a0', ' \t']) {
    it(`neutralizes a formula behind leading white space ${JSON.stringify(lead)}`, () => {
      for (const p of ['=', '+', '-', '@', '\uff1d']) {
        const value = `${lead}${p}HYPERLINK("http://evil.example","x")`;
        const [[cell]] = parseCsv(`${csvCell(value)}\r\n`) as [[string]];
        expect(cell).toBe(`'${value}`);
      }
    });
  }
  it('leaves other cells as they are', () => {
    for (const v of ['plain', 'a=b', ' a=1', ' 1+1', '1+1', "'quoted"]) {
      expect(parseCsv(`${csvCell(v)}\r\n`)).toEqual([[v]]);
    }
  });
  it('quotes commas, quotes and line breaks (RFC 4180)', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(parseCsv(`${csvCell('x\r\ny')},${csvCell('"')}\r\n`)).toEqual([['x\r\ny', '"']]);
  });
});

describe('csvRow', () => {
  const entry: AuditEntry = {
    seq: 3,
    id: '0190c7e4-0000-7000-8000-000000000000',
    ts: '2026-03-01T00:00:00.000Z',
    type: 'model.request',
    category: 'ai',
    severity: 'info',
    actor: { id: '=cmd|" /C calc"!A0', ip: '@SUM(1+1)' },
    meta: { note: '-2+3' },
    content: { prompt: '+danger' },
    erased: ['response'],
  };
  it('has one cell per column, none of which a spreadsheet would run', () => {
    const rows = parseCsv(csvRow(entry));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toHaveLength(CSV_COLUMNS.length);
    for (const cell of rows[0]!) expect(cell).not.toMatch(/^[\t\r\n]|^\s*[=+\-@\uff1d\uff0b\uff0d\uff20]/);
    const col = (name: string) => rows[0]![CSV_COLUMNS.indexOf(name as (typeof CSV_COLUMNS)[number])];
    expect(col('actor.id')).toBe(`'=cmd|" /C calc"!A0`);
    expect(col('actor.ip')).toBe("'@SUM(1+1)");
    expect(JSON.parse(col('content')!)).toEqual({ prompt: '+danger', response: '[erased]' });
    expect(col('erased')).toBe('response');
  });
  it("tells an erased payload from a text that reads '[erased]'", () => {
    const { erased: _, ...kept } = entry;
    const literal = parseCsv(csvRow({ ...kept, content: { prompt: '[erased]' } }))[0]!;
    const erased = parseCsv(csvRow({ ...entry, content: {}, erased: ['prompt', 'response'] }))[0]!;
    const at = CSV_COLUMNS.indexOf('erased');
    expect(literal[at]).toBe('');
    expect(erased[at]).toBe('prompt,response');
  });
});

describe('JSON output', () => {
  it('keeps values exactly and writes no raw hostile code point', () => {
    const hostile = 'esc\x1b[2J rlo\u202e ls\u2028 zw\u200b';
    const e = {
      seq: 0,
      id: 'x',
      ts: 't',
      type: 'x.a',
      category: 'custom',
      severity: 'info',
      meta: { h: hostile },
    };
    const line = jsonLine(e);
    expect(line).not.toMatch(/[\x1b\u202e\u2028\u200b]/);
    expect(JSON.parse(line)).toEqual(e);
    const w = entryWriter('json');
    const doc = w.start() + w.entry(e) + w.entry({ ...e, seq: 1 }) + w.end();
    expect(JSON.parse(doc)).toEqual([e, { ...e, seq: 1 }]);
    const empty = entryWriter('json');
    expect(JSON.parse(empty.start() + empty.end())).toEqual([]);
  });
});
