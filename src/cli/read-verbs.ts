/** The reading verbs, registered by main.ts in one place, and their usage lines. */

/** A verb of the CLI: runs with its arguments, resolves with the exit code. */
export type Verb = (args: string[]) => Promise<number>;

/** The verb `name` exported by a module loaded on first use. */
export function verb<M>(load: () => Promise<M>, name: keyof M): Verb {
  return async (args) => ((await load())[name] as Verb)(args);
}

export const READ_VERBS: Record<string, Verb> = {
  query: verb(() => import('./query.js'), 'runQuery'),
  export: verb(() => import('./export.js'), 'runExport'),
  conversation: verb(() => import('./conversation.js'), 'runConversation'),
  timeline: verb(() => import('./conversation.js'), 'runTimeline'),
  report: verb(() => import('./report.js'), 'runReport'),
  status: verb(() => import('./status.js'), 'runStatus'),
  anomalies: verb(() => import('./anomalies.js'), 'runAnomalies'),
};

export const READ_USAGE = `  query [--dir D] [filters] [--format table|jsonl|json|csv] [--limit N] [--order newest|oldest] [--decrypt] [--as WHO]
  export --format jsonl|json|csv [--out F] [--manifest M] [filters] [--order oldest|newest] [--decrypt] [--json]
  conversation ID [--dir D] [--key VKEY] [--decrypt] [--json]   turns in order, each entry's integrity status
  timeline --from T [--to T] [--actor A] [filters] [--gap MINUTES] [--limit N] [--json]
  report [--from T] [--to T] [--format html|json|md] [--out F] [--seal-seed S] [--no-verify] [--gap MINUTES] [filters]
  status [--dir D] [--json]                entries, segments, size, last checkpoint, seal and verification
  anomalies --from T [--to T] [filters] [--webhook URL] [--json]   rules over history; findings recorded
  filters: --from T --to T --since 1h|lastHour --type T --category C --severity S --min-severity S
           --actor A --actor-type T --subject S --session S --ip IP --conversation ID --request-id R
           --trace-id T --resource [TYPE:]ID --action A --outcome O --guardrail block|allow|warn|redact
           --model [PROVIDER/]NAME --text TEXT --id ID --seq-from N --seq-to N
           (times: ISO 8601 with a zone, a bare date = UTC midnight, epoch ms, or a duration ago)`;
