/** The shape of a labelled corpus case. */

/** One expected finding: the detector that should name it and the sensitive value that must be gone. */
export type Expected = readonly [kind: string, value: string];

/** One case: a text (redacted as content) or a JSON value (redacted as content), and what it holds. */
export interface CorpusCase {
  /** Where it came from: `gen:email:3`, `hand-negatives.jsonl:12`. */
  id: string;
  /** The detector a positive was written for, or the kind of hard negative (`date`, `uuid`, ...). */
  tag: string;
  text?: string;
  json?: unknown;
  /** Empty for a negative. */
  expect: Expected[];
}
