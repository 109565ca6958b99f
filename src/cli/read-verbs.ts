/** The reading verbs, registered by main.ts in one place, and their usage lines. */
import { runAnomalies } from './anomalies.js';
import { runConversation, runTimeline } from './conversation.js';
import { runExport } from './export.js';
import { runQuery } from './query.js';
import { runReport } from './report.js';
import { runStatus } from './status.js';

export const READ_VERBS: Record<string, (args: string[]) => Promise<number>> = {
  query: runQuery,
  export: runExport,
  conversation: runConversation,
  timeline: runTimeline,
  report: runReport,
  status: runStatus,
  anomalies: runAnomalies,
};

export const READ_USAGE = `  query [--dir D] [filters] [--format table|jsonl|json|csv] [--limit N] [--order newest|oldest] [--decrypt] [--as WHO]
  export --format jsonl|json|csv [--out F] [--manifest M] [filters] [--order oldest|newest] [--decrypt] [--json]
  conversation ID [--dir D] [--key VKEY] [--decrypt] [--json]   turns in order, each entry's integrity status
  timeline --from T [--to T] [--actor A] [filters] [--gap MINUTES] [--limit N] [--json]
  report --from T --to T [--format html|json|md] [--out F] [--seal-seed S] [--no-verify] [--gap MINUTES] [filters]
  status [--dir D] [--json]                entries, segments, size, last checkpoint, seal and verification
  anomalies --from T [--to T] [filters] [--webhook URL] [--json]   rules over history; findings recorded
  filters: --from T --to T --since 1h|lastHour --type T --category C --severity S --min-severity S
           --actor A --actor-type T --subject S --session S --ip IP --conversation ID --request-id R
           --trace-id T --resource [TYPE:]ID --action A --outcome O --guardrail block|allow|warn|redact
           --model [PROVIDER/]NAME --text TEXT --id ID --seq-from N --seq-to N
           (times: ISO 8601 with a zone, a bare date = UTC midnight, epoch ms, or a duration ago)`;
