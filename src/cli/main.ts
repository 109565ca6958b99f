/**
 * The `sealtrail` command: dispatches to one verb per file. Errors become one line on stderr and
 * the exit code of the error table (1 integrity failure, 2 usage, input or I/O), never a stack.
 */
import { AuditError } from '../errors.js';
import { renderVisible } from '../event/index.js';
import { READ_USAGE, READ_VERBS, type Verb, verb } from './read-verbs.js';

// Each verb's module is loaded when it runs, so a command pays only for the code it uses.
const VERBS: Record<string, Verb> = {
  init: verb(() => import('./init.js'), 'runInit'),
  append: verb(() => import('./append.js'), 'runAppend'),
  verify: verb(() => import('./verify.js'), 'runVerify'),
  checkpoint: verb(() => import('./checkpoint.js'), 'runCheckpoint'),
  prove: verb(() => import('./prove.js'), 'runProve'),
  consistency: verb(() => import('./prove.js'), 'runConsistency'),
  tail: verb(() => import('./tail.js'), 'runTail'),
  demo: verb(() => import('./demo.js'), 'runDemo'),
  erase: verb(() => import('./erase.js'), 'runErase'),
  retention: verb(() => import('./retention.js'), 'runRetention'),
  match: verb(() => import('./match.js'), 'runMatch'),
  keys: verb(() => import('./keys.js'), 'runKeys'),
  redact: verb(() => import('./redact.js'), 'runRedact'),
  serve: verb(() => import('./serve.js'), 'runServe'),
  token: verb(() => import('./token.js'), 'runToken'),
  archive: verb(() => import('./archive.js'), 'runArchive'),
  witness: verb(() => import('./witness.js'), 'runWitness'),
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
  tail [--dir D] [-n N] [-f] [--json] [--as WHO]
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
consistency, query, export, conversation, timeline, tail, status, report, anomalies, match, keys and
serve take instead --postgres URL [--log NAME] [--keys DIR] [--lock-timeout MS] (password from PGPASSWORD
or ~/.pgpass; docs/postgres.md).`;

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    // asked for: stdout, exit 0; no verb at all is a usage error: stderr, exit 2
    (verb === undefined ? process.stderr : process.stdout).write(`${USAGE}\n`);
    return verb === undefined ? 2 : 0;
  }
  const run = VERBS[verb];
  if (run === undefined) {
    fail(`unknown verb ${JSON.stringify(verb)} (see sealtrail --help)`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (err) {
    if (err instanceof AuditError) {
      fail(err.message);
      return err.exitCode;
    }
    // A system error's message already starts with its code ("ENOENT: no such file ..., open 'f'").
    const code = (err as NodeJS.ErrnoException).code;
    const message = String((err as Error).message);
    fail(code === undefined || message.startsWith(code) ? message : `${code}: ${message}`);
    return 2;
  }
}

/**
 * One line on stderr. Rendered visibly: a message can quote what the user gave (an id, a path),
 * and an escape sequence or line break in it must neither act on the terminal nor add a line.
 */
function fail(message: string): void {
  process.stderr.write(`sealtrail: ${renderVisible(message)}\n`);
}
