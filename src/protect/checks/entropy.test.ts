import { describe, expect, it } from 'vitest';
import { charClassCount, shannonEntropy } from './entropy.js';

describe('shannonEntropy', () => {
  it('is 0 for one repeated character and for nothing', () => {
    expect(shannonEntropy('aaaaaaaa')).toBe(0);
    expect(shannonEntropy('')).toBe(0);
  });

  it('is log2(n) for n distinct characters', () => {
    expect(shannonEntropy('abcd')).toBeCloseTo(2, 10);
    expect(shannonEntropy('0123456789abcdef')).toBeCloseTo(4, 10);
  });

  it('ranks a random key above an English word', () => {
    expect(shannonEntropy('wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzEXAMPLE')).toBeGreaterThan(4);
    expect(shannonEntropy('internationalization')).toBeLessThan(3.2);
  });

  it('measures only the given range', () => {
    expect(shannonEntropy('aaaaabcd', 4, 8)).toBeCloseTo(2, 10);
  });
});

describe('charClassCount', () => {
  it('counts lower, upper and digit classes present', () => {
    expect(charClassCount('abc')).toBe(1);
    expect(charClassCount('abC')).toBe(2);
    expect(charClassCount('aB3')).toBe(3);
    expect(charClassCount('___---')).toBe(0);
  });
});
