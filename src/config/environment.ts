/**
 * Environment detection for `audit.enable()`: where the process runs decides the defaults
 * (destinations, content mode, whether the trail may be switched off). Pure: the environment
 * variables, the TTY and the file probe are passed in, so every branch is tested.
 */

/** Where the process runs. */
export type Environment = 'development' | 'production' | 'container' | 'test';

/** What detection looks at. */
export interface EnvironmentProbe {
  env: Readonly<Record<string, string | undefined>>;
  /** Whether stdout is a terminal. */
  isTTY: boolean;
  /** Whether a path exists (for `/.dockerenv`). */
  exists(path: string): boolean;
}

/** The environment and why it was chosen (shown by `audit.status()`). */
export interface DetectedEnvironment {
  environment: Environment;
  /** Running in a container (`/.dockerenv` or `KUBERNETES_SERVICE_HOST`), whatever the environment. */
  container: boolean;
  reason: string;
}

/** Variables set by test runners and CI services. */
const TEST_VARS = ['VITEST', 'JEST_WORKER_ID', 'NODE_TEST_CONTEXT', 'MOCHA_WORKER_ID'] as const;

/**
 * Detects the environment, first match wins:
 * 1. `NODE_ENV` = `test`, `production` or `development`;
 * 2. a test runner (`VITEST`, `JEST_WORKER_ID`, `NODE_TEST_CONTEXT`, `MOCHA_WORKER_ID`) or CI (`CI` set and not `false`): test;
 * 3. a container (`/.dockerenv`, `KUBERNETES_SERVICE_HOST`): container;
 * 4. a terminal on stdout without `NODE_ENV`: development;
 * 5. otherwise production: a process started by a service manager, with nobody watching, gets
 *    the protective defaults.
 */
export function detectEnvironment(probe: EnvironmentProbe): DetectedEnvironment {
  const { env } = probe;
  const container =
    (env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== '') ||
    probe.exists('/.dockerenv');
  const nodeEnv = env.NODE_ENV?.trim().toLowerCase();
  if (nodeEnv === 'test' || nodeEnv === 'production' || nodeEnv === 'development')
    return { environment: nodeEnv, container, reason: `NODE_ENV=${nodeEnv}` };
  const runner = TEST_VARS.find((v) => env[v] !== undefined && env[v] !== '');
  if (runner !== undefined) return { environment: 'test', container, reason: `${runner} is set` };
  if (env.CI !== undefined && env.CI !== '' && env.CI.toLowerCase() !== 'false')
    return { environment: 'test', container, reason: 'CI is set' };
  if (container)
    return {
      environment: 'container',
      container,
      reason: env.KUBERNETES_SERVICE_HOST ? 'KUBERNETES_SERVICE_HOST is set' : '/.dockerenv exists',
    };
  if (probe.isTTY && (nodeEnv === undefined || nodeEnv === ''))
    return { environment: 'development', container, reason: 'stdout is a terminal and NODE_ENV is unset' };
  return {
    environment: 'production',
    container,
    reason: nodeEnv ? `NODE_ENV=${nodeEnv} is not a known value` : 'no terminal, NODE_ENV unset',
  };
}
