import { describe, expect, it } from 'vitest';
import { detectEnvironment } from './environment.js';

const probe = (env: Record<string, string>, isTTY = false, files: string[] = []) => ({
  env,
  isTTY,
  exists: (p: string) => files.includes(p),
});

describe('detectEnvironment', () => {
  it.each([
    [{ NODE_ENV: 'production' }, false, [], 'production'],
    [{ NODE_ENV: 'Production ' }, true, [], 'production'],
    [{ NODE_ENV: 'development' }, false, [], 'development'],
    [{ NODE_ENV: 'test' }, false, [], 'test'],
    [{ VITEST: 'true' }, true, [], 'test'],
    [{ JEST_WORKER_ID: '1' }, false, [], 'test'],
    [{ CI: 'true' }, false, [], 'test'],
    [{ CI: 'false' }, false, [], 'production'],
    [{ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, false, [], 'container'],
    [{}, false, ['/.dockerenv'], 'container'],
    [{}, true, [], 'development'],
    [{}, false, [], 'production'],
    [{ NODE_ENV: 'staging' }, true, [], 'production'],
  ] as const)('%j (tty %s, files %j) is %s', (env, tty, files, expected) => {
    expect(detectEnvironment(probe(env, tty, [...files])).environment).toBe(expected);
  });

  it('lets NODE_ENV win over CI and a container, and still reports the container', () => {
    const d = detectEnvironment(probe({ NODE_ENV: 'production', CI: '1', KUBERNETES_SERVICE_HOST: 'x' }));
    expect(d).toEqual({ environment: 'production', container: true, reason: 'NODE_ENV=production' });
  });
});
