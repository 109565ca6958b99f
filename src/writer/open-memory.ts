/**
 * Appenders of trails without a directory. Memory (tests, short-lived tools): the same entries,
 * checkpoints and seals as a directory trail, so the same verifier checks them; a
 * {@link MemoryTrailStore} outlives the `AuditTrail` that wrote it and can be reopened to continue
 * the same chain. Stdout (containers): everything written as JSON lines, nothing kept.
 */
import {
  CompactTree,
  generateNoteKey,
  MemoryTree,
  NoteSigner,
  newSealSeed,
  SealKeyChain,
  type VerifyInput,
} from '../chain/index.js';
import { AuditError } from '../errors.js';
import {
  DEFAULT_SEAL_EPOCH_MS,
  defaultOrigin,
  MemoryLog,
  MemorySealedState,
  StdoutLog,
  StdoutSealedState,
  writeAllSync,
} from '../store/index.js';
import { Appender, type AppenderOptions } from './appender.js';

/** Everything a memory trail holds. Read `log.lines`, `state.checkpoints` and `state.seals` to verify it. */
export class MemoryTrailStore {
  readonly log = new MemoryLog();
  readonly state = new MemorySealedState();
  readonly tree = new MemoryTree();
  /** Creation time (ms): start of seal epoch 0. */
  readonly createdAt = Date.now();
  readonly verifierKey: string;
  /** The forward-seal seed (base64url): for a memory trail it is kept here, for tests. */
  readonly sealSeed: string;
  /** @internal */
  readonly signer: NoteSigner;
  /** @internal */
  readonly sealKey: SealKeyChain;
  /** @internal True while an appender has it open. */
  inUse = false;

  constructor(
    readonly origin: string = defaultOrigin(),
    readonly sealEpochMs: number = DEFAULT_SEAL_EPOCH_MS,
  ) {
    ({
      signer: this.signer,
      verifierKey: this.verifierKey,
      sealSeed: this.sealSeed,
      sealKey: this.sealKey,
    } = newEphemeralKeys(origin));
  }

  /** Everything `verifyTrail` needs to check this trail, seals included. */
  verifyInput(): VerifyInput {
    return {
      origin: this.origin,
      verifierKey: this.verifierKey,
      lines: this.log.lines.map((text) => ({ text, file: 'memory' })),
      checkpoints: this.state.checkpoints.map((c) => ({ note: c.note, source: 'memory' })),
      live: this.inUse,
      seals: {
        records: this.state.seals,
        seed: this.sealSeed,
        t0: this.createdAt,
        epochMs: this.sealEpochMs,
        now: Date.now(),
      },
    };
  }
}

/** A fresh checkpoint key and seal key chain held in memory (trails without a key directory). */
function newEphemeralKeys(origin: string): {
  signer: NoteSigner;
  verifierKey: string;
  sealSeed: string;
  sealKey: SealKeyChain;
} {
  const { skey, vkey } = generateNoteKey(origin);
  const seed = newSealSeed();
  const keys = {
    signer: NoteSigner.fromSkey(skey),
    verifierKey: vkey,
    sealSeed: seed.toString('base64url'),
    sealKey: SealKeyChain.fromSeed(seed, origin),
  };
  seed.fill(0);
  return keys;
}

/** Options of {@link openMemoryAppender}. */
export interface OpenMemoryOptions extends AppenderOptions {
  origin?: string;
  sealEpochMs?: number;
}

/** An open memory appender. */
export interface OpenedMemory {
  appender: Appender;
  store: MemoryTrailStore;
  init: { origin: string; verifierKey: string; sealSeed?: string };
  /** Lets another appender open the store (after `appender.close()`). */
  release(): void;
}

/**
 * Opens an appender on `store`, or on a new memory trail when `store` is undefined.
 * @throws AuditError TRAIL_LOCKED when another appender has the store open.
 */
export function openMemoryAppender(
  store: MemoryTrailStore | undefined,
  options: OpenMemoryOptions = {},
): OpenedMemory {
  const s = store ?? new MemoryTrailStore(options.origin, options.sealEpochMs);
  if (s.inUse) throw new AuditError('TRAIL_LOCKED', 'memory trail is already open for writing');
  s.inUse = true;
  const appender = new Appender(
    {
      origin: s.origin,
      t0: s.createdAt,
      sealEpochMs: s.sealEpochMs,
      log: s.log,
      tree: s.tree,
      signer: s.signer,
      sealKey: s.sealKey,
      state: s.state,
    },
    options,
  );
  appender.sealFinishedEpochs(Date.now());
  const init = {
    origin: s.origin,
    verifierKey: s.verifierKey,
    ...(store === undefined ? { sealSeed: s.sealSeed } : {}),
  };
  return {
    appender,
    store: s,
    init,
    release: () => {
      s.inUse = false;
    },
  };
}

/**
 * Opens an appender that writes the trail to a file descriptor (stdout) as JSON lines (see
 * `store/stdout-sink.ts`), with a fresh key announced on the first line:
 * `{"sealtrail":1,"trail":{"createdAt","origin","sealEpochMs","verifierKey"}}`.
 * Pin that verifier key elsewhere (or forward checkpoints off-host) to detect a rewritten stream.
 */
export function openStdoutAppender(
  options: OpenMemoryOptions & { fd?: number } = {},
): Omit<OpenedMemory, 'store'> {
  const fd = options.fd ?? 1;
  const origin = options.origin ?? defaultOrigin();
  const sealEpochMs = options.sealEpochMs ?? DEFAULT_SEAL_EPOCH_MS;
  const createdAt = Date.now();
  const { signer, verifierKey, sealSeed, sealKey } = newEphemeralKeys(origin);
  writeAllSync(
    fd,
    `{"sealtrail":1,"trail":${JSON.stringify({ createdAt, origin, sealEpochMs, verifierKey })}}\n`,
  );
  const appender = new Appender(
    {
      origin,
      t0: createdAt,
      sealEpochMs,
      log: new StdoutLog(fd),
      tree: new CompactTree(),
      signer,
      sealKey,
      state: new StdoutSealedState(fd),
    },
    options,
  );
  return { appender, init: { origin, verifierKey, sealSeed }, release: () => {} };
}
