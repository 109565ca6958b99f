/**
 * The `sealtrail` command: dispatches to one verb per file. Errors become one line on stderr and
 * the exit code of the error table (1 integrity failure, 2 usage, input or I/O), never a stack.
 */
import { AuditError } from '../errors.js';
import { runAppend } from './append.js';
import { runArchive } from './archive.js';
import { runCheckpoint } from './checkpoint.js';
import { runDemo } from './demo.js';
import { runErase } from './erase.js';
import { runInit } from './init.js';
import { runKeys } from './keys.js';
import { runMatch } from './match.js';
import { runConsistency, runProve } from './prove.js';
import { READ_USAGE, READ_VERBS } from './read-verbs.js';
import { runRedact } from './redact.js';
import { runRetention } from './retention.js';
import { runServe } from './serve.js';
import { runTail } from './tail.js';
import { runToken } from './token.js';
import { runVerify } from './verify.js';
import { runWitness } from './witness.js';

const VERBS: Record<string, (args: string[]) => Promise<number>> = {
  init: runInit,
  append: runAppend,
  verify: runVerify,
  checkpoint: runCheckpoint,
  prove: runProve,
  consistency: runConsistency,
  tail: runTail,
  demo: runDemo,
  erase: runErase,
  retention: runRetention,
  match: runMatch,
  keys: runKeys,
  redact: runRedact,
  serve: runServe,
  token: runToken,
  archive: runArchive,
  witness: runWitness,
  ...READ_VERBS,
};

const USAGE = `usage: sealtrail <verb> [options]
  init [--dir D] [--origin NAME] [--content hash|encrypt|plain] [--json]
  append [--dir D] [--durable]             events as JSON lines on stdin; one id per line
  verify [--dir D] [--against FILE|DIR|s3://B/P|URL]... [--key VKEY] [--seal-seed=SEED] [--json]
  verify --from-s3 s3://B/P [--from-seq N] [--to-seq M] [--from T] [--to T] [--against ...] [--key VKEY] [--s3-endpoint URL] [--json]
  archive push s3://B/P [--dir D] [--lock-mode GOVERNANCE|COMPLIANCE|none] [--retain-days N] [--legal-hold] [--every 10m] [--s3-endpoint URL] [--json]
  witness push --to s3://B/P|URL|DIR... [--every 1m] [--dir D] [--lock-mode M] [--retain-days N] [--legal-hold] [--s3-endpoint URL] [--json]
  checkpoint [--dir D]                     latest signed checkpoint (C2SP note)
  prove (--seq N | --id ID) [--dir D] [--json]
  consistency --from N [--to M] [--dir D] [--json]
  tail [--dir D] [-n N] [-f] [--json]
  demo [--dir D]                           record a short AI conversation, verify, print the checkpoint
  erase --subject S [--reason R] [--dir D] [--json]   erase a data subject's content payloads
  retention apply [--dry-run] [--policy FILE] [--dir D] [--json]   prune, expire content, archive (docs/retention.md)
  retention hold add --id ID --reason R [--subject S] [--actor A] [--category C] [--type T] [--from ISO] [--to ISO] [--by WHO]
  retention hold remove --id ID [--reason R] [--by WHO] | retention hold list [--json]
  match --id ID --field NAME [--exact] [--dir D]      is the text on stdin the one recorded (hash mode)
  keys init [--dir D] [--json]             create the passphrase key file (SEALTRAIL_PASSPHRASE)
  keys list [--dir D] [--json]             master key ids, created, current, provider (never material)
  keys rotate [--dir D] [--json]           add a new current master key; rewrap subject keys
  redact [--json] [--off NAMES]             personal data and secrets replaced by markers, stdin to stdout
  serve [--dir D] [--host H] [--port P] [--max-batch N] [--body-limit BYTES] [--max-tails N] [--max-tails-per-token N] [--tls-cert F --tls-key F] [--demo]   the collector
  token create --scopes ingest,read[,read:content,admin,witness] [--name N] [--dir D] [--json]   printed once
  token list [--dir D] [--json] | token revoke NAME|ID [--dir D]
${READ_USAGE}
--dir defaults to $SEALTRAIL_DIR, then ./audit. init, append, erase, verify, checkpoint, prove,
consistency, query, export, conversation, timeline, tail, status, report, anomalies, match and serve
take instead --postgres URL [--log NAME] [--keys DIR] [--lock-timeout MS] (password from PGPASSWORD
or ~/.pgpass; docs/postgres.md).`;

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return verb === undefined ? 2 : 0;
  }
  const run = VERBS[verb];
  if (run === undefined) {
    process.stderr.write(`sealtrail: unknown verb ${JSON.stringify(verb)} (see sealtrail --help)\n`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (err) {
    if (err instanceof AuditError) {
      process.stderr.write(`sealtrail: ${err.message}\n`);
      return err.exitCode;
    }
    const code = (err as NodeJS.ErrnoException).code;
    process.stderr.write(
      `sealtrail: ${code === undefined ? (err as Error).message : `${code}: ${(err as Error).message}`}\n`,
    );
    return 2;
  }
}
