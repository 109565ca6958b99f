/**
 * The collector's counters, rendered as Prometheus text (exposition format 0.0.4). A handful of
 * numbers kept by hand: a metrics library would be heavier than the thing it measures.
 */

/** Counters and the last flush timings of one collector. */
export class CollectorMetrics {
  ingested = 0;
  rejected = 0;
  duplicates = 0;
  batches = 0;
  authFailures = 0;
  reads = 0;
  /** Full verifications started (concurrent `GET /v1/verify` requests share one). */
  verifications = 0;
  overloaded = 0;
  tailsRefused = 0;
  flushSecondsSum = 0;
  flushCount = 0;

  /** Prometheus text; `queueDepth` and `tailsOpen` are read at render time. */
  render(queueDepth: number, tailsOpen = 0): string {
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    };
    metric('sealtrail_events_ingested_total', 'counter', 'Events accepted and durable.', this.ingested);
    metric(
      'sealtrail_events_rejected_total',
      'counter',
      'Events refused (invalid batch, queue full).',
      this.rejected,
    );
    metric(
      'sealtrail_events_duplicate_total',
      'counter',
      'Events dropped as repeats of recorded ones (same sink id and seq).',
      this.duplicates,
    );
    metric('sealtrail_batches_total', 'counter', 'Ingest requests accepted.', this.batches);
    metric(
      'sealtrail_auth_failures_total',
      'counter',
      'Requests refused with 401 or 403.',
      this.authFailures,
    );
    metric('sealtrail_reads_total', 'counter', 'Reads served and recorded as audit.read.', this.reads);
    metric(
      'sealtrail_verify_runs_total',
      'counter',
      'Full verifications started (GET /v1/verify requests that arrive during one share it).',
      this.verifications,
    );
    metric(
      'sealtrail_overloaded_total',
      'counter',
      'Ingest requests answered 503 (queue full).',
      this.overloaded,
    );
    metric(
      'sealtrail_queue_depth',
      'gauge',
      'Events accepted by the writer and not yet durable.',
      queueDepth,
    );
    metric('sealtrail_tails_open', 'gauge', 'Live tails (GET /v1/tail) open now.', tailsOpen);
    metric(
      'sealtrail_tails_refused_total',
      'counter',
      'Live tails refused with 429 (per-token or total limit).',
      this.tailsRefused,
    );
    lines.push(
      '# HELP sealtrail_flush_seconds Time from the last event of a batch to its sync on disk.',
      '# TYPE sealtrail_flush_seconds summary',
      `sealtrail_flush_seconds_sum ${this.flushSecondsSum}`,
      `sealtrail_flush_seconds_count ${this.flushCount}`,
    );
    return `${lines.join('\n')}\n`;
  }
}
