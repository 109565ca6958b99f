import { describe, expect, it } from 'vitest';
import { only } from '../../test-support/redaction.js';

describe('ipv4 detector', () => {
  it.each([
    ['from 203.0.113.7', 'from [IP]'],
    ['host=10.0.0.1;', 'host=[IP];'],
    ['192.168.1.10:8080', '[IP]:8080'],
    ['route 10.0.0.0/8 via 10.0.0.1', 'route [IP]/8 via [IP]'],
    ['0.0.0.0 and 255.255.255.255', '[IP] and [IP]'],
    ['10.0.0.1 10.0.0.2', '[IP] [IP]'],
    ['1.2.3.4', '[IP]'],
    ['ssh admin@10.0.0.5', 'ssh admin@[IP]'],
  ])('replaces the address in %j', (text, want) => {
    expect(only('ipv4', text)).toBe(want);
  });

  it.each([
    'version 1.2.3.4',
    'v1.2.3.4',
    'release 10.0.0.1',
    'firmware 4.2.0.17',
    'version: 1.2.3.4',
    '1.2.3',
    '256.1.1.1',
    '10.0.0.256',
    '01.02.03.04',
    'OID 1.3.6.1.4.1.311',
    '1.2.3.4.5',
    '192.168.1.1/33',
  ])('leaves %j alone', (text) => {
    expect(only('ipv4', text)).toBe(text);
  });
});

describe('ipv6 detector', () => {
  it.each([
    ['from 2001:db8::1 ok', 'from [IP] ok'],
    ['fe80::1ff:fe23:4567:890a', '[IP]'],
    ['2001:0db8:85a3:0000:0000:8a2e:0370:7334', '[IP]'],
    ['loopback ::1.', 'loopback [IP].'],
    ['::ffff:192.0.2.128', '[IP]'],
    ['[2001:db8::1]:443', '[[IP]]:443'],
    ['at fe80::1: refused', 'at [IP]: refused'],
  ])('replaces the address in %j', (text, want) => {
    expect(only('ipv6', text)).toBe(want);
  });

  it.each([
    'at 12:30:45',
    'mac 00:1A:2B:3C:4D:5E',
    'std::vector<int>',
    'Foo::Bar::baz',
    'dead::beef',
    'a :: b',
    'ratio 1:2:3',
    'https://example.com:8443/x',
  ])('leaves %j alone', (text) => {
    expect(only('ipv6', text)).toBe(text);
  });

  it('stays linear on 100 KB of colons and hex', () => {
    const colons = ':'.repeat(100_000);
    expect(only('ipv6', colons)).toBe(colons);
    const hex = '1:'.repeat(50_000);
    expect(only('ipv6', hex)).toBe(hex);
  });
});
