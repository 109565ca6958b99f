/**
 * The client's address behind proxies. `X-Forwarded-For` is attacker-controlled: any client can
 * send one. It is read only as far as the proxies you trust: each trusted hop appends the address
 * it received the request from, so the list is walked from the right, past the trusted proxies,
 * and the first address not trusted is the client.
 */
import { BlockList, isIP } from 'node:net';
import { AuditError } from '../../errors.js';

/**
 * Which proxies are trusted to set `X-Forwarded-For`:
 * - `false` (default): none; the socket's address is the client.
 * - `true`: all; the left-most address is the client (only behind a proxy that overwrites the header).
 * - a number `n`: the last `n` hops are trusted proxies.
 * - a list of addresses and CIDR ranges (`'10.0.0.0/8'`, `'::1'`, `'loopback'`, `'private'`).
 */
export type TrustProxy = boolean | number | readonly string[];

/** Named ranges accepted in a {@link TrustProxy} list. */
const NAMED_RANGES: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
};

/** A compiled {@link TrustProxy} setting. */
export type ProxyTrust = (address: string, hop: number) => boolean;

/**
 * Compiles a trust setting once (at middleware creation).
 * @throws AuditError CONFIG_INVALID naming `trustProxy` or the bad entry.
 */
export function compileTrustProxy(trust: TrustProxy = false): ProxyTrust {
  if (trust === true) return () => true;
  if (trust === false) return () => false;
  if (typeof trust === 'number') {
    if (!Number.isSafeInteger(trust) || trust < 0)
      throw new AuditError('CONFIG_INVALID', 'trustProxy: expected a non-negative integer hop count', {
        field: 'trustProxy',
      });
    return (_address, hop) => hop < trust;
  }
  if (!Array.isArray(trust))
    throw new AuditError(
      'CONFIG_INVALID',
      'trustProxy: expected true, false, a hop count or a list of addresses',
      {
        field: 'trustProxy',
      },
    );
  const list = new BlockList();
  trust.forEach((entry: unknown, i) => {
    if (typeof entry !== 'string') failEntry(i);
    for (const range of NAMED_RANGES[entry] ?? [entry]) addRange(list, range, i);
  });
  return (address) => {
    const plain = unmapV4(address);
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * The client's address: the socket's when it is not a trusted proxy, otherwise the right-most
 * `X-Forwarded-For` entry that is not trusted (the left-most if all are). Entries that are not IP
 * addresses end the walk: what lies left of them cannot be trusted.
 */
export function resolveClientIp(
  remoteAddress: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  trust: ProxyTrust,
): string | undefined {
  const socket = remoteAddress === undefined ? undefined : unmapV4(remoteAddress);
  if (socket === undefined || !trust(socket, 0) || forwardedFor === undefined) return socket;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor as string))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  let client = socket;
  for (let i = hops.length - 1, hop = 1; i >= 0; i--, hop++) {
    const candidate = unmapV4(hops[i]!);
    if (isIP(candidate) === 0) return client;
    client = candidate;
    if (!trust(candidate, hop)) return client;
  }
  return client;
}

/** `::ffff:203.0.113.7` (an IPv4 client on a dual-stack socket) as `203.0.113.7`. */
function unmapV4(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function addRange(list: BlockList, range: string, i: number): void {
  const slash = range.indexOf('/');
  const address = slash < 0 ? range : range.slice(0, slash);
  const family = isIP(address);
  if (family === 0) failEntry(i);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) {
    list.addAddress(address, type);
    return;
  }
  const bits = Number(range.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) failEntry(i);
  list.addSubnet(address, bits, type);
}

function failEntry(i: number): never {
  throw new AuditError(
    'CONFIG_INVALID',
    `trustProxy[${i}]: expected an IP address, a CIDR range, or loopback, private or linklocal`,
    { field: `trustProxy[${i}]` },
  );
}
