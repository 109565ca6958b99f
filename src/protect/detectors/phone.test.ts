import { describe, expect, it } from 'vitest';
import { only } from '../../test-support/redaction.js';

describe('phone detector', () => {
  describe('E.164 and international numbers', () => {
    it.each([
      '+14155552671',
      '+1 415 555 2671',
      '+1-415-555-2671',
      '+1 (415) 555-2671',
      '+44 20 7946 0958',
      '+44 (0)20 7946 0958',
      '+49 30 901820',
      '+33 1 23 45 67 89',
      '+91 98765 43210',
      '+61 2 9374 4000',
      '0044 20 7946 0958',
    ])('replaces %s', (n) => {
      expect(only('phone', `call ${n} now`)).toBe('call [PHONE] now');
    });
  });

  describe('national formats', () => {
    it.each([
      '(415) 555-2671',
      '415-555-2671',
      '415.555.2671',
      '415 555 2671',
      '1-800-555-0199',
      '020 7946 0958',
      '(020) 7946 0958',
      '07700 900123',
      '06 12 34 56 78',
      '01.23.45.67.89',
      '030 901820',
      '030/901820',
      '0151 23456789',
      '(02) 9374 4000',
      '0412 345 678',
      '03-1234-5678',
      '(11) 91234-5678',
      '(21) 3456-7890',
    ])('replaces %s', (n) => {
      expect(only('phone', `office: ${n}.`)).toBe('office: [PHONE].');
    });
  });

  describe('with context', () => {
    it.each([
      ['call me at 4155552671', 'call me at [PHONE]'],
      ['Mobile: 5551234', 'Mobile: [PHONE]'],
      ['tel 555-1234', 'tel [PHONE]'],
      ['WhatsApp 912345678', 'WhatsApp [PHONE]'],
    ])('replaces bare digits in %j', (text, want) => {
      expect(only('phone', text)).toBe(want);
    });

    it('takes the key name as context', () => {
      expect(only('phone', '4155552671', 'phone')).toBe('[PHONE]');
      expect(only('phone', '4155552671', 'mobileNumber')).toBe('[PHONE]');
      expect(only('phone', '4155552671', 'orderId')).toBe('4155552671');
    });
  });

  describe('numbers that are not phones', () => {
    it.each([
      '2024-01-15',
      '15.01.2024',
      '01/15/2024',
      '2024-01-15 10:30:00',
      '2024-01-15T10:30:00Z',
      'v1.2.3',
      'version 10.15.7',
      '4.18.2-beta.1',
      'ORD-2024-000123',
      'order #123456789',
      'order number 415-555-2671',
      'invoice no. 020 7946 0958',
      'Invoice 2024-0001234',
      'ISBN 978-3-16-148410-0',
      '0-306-40615-2',
      'epoch 1700000000',
      'took 1700000000123 ms',
      '1,234,567',
      '1 234 567',
      '123-456-7890',
      '94105-1234',
      '550e8400-e29b-41d4-a716-446655440000',
      '9400 1000 0000 0000 0000 00',
      'call 10.15.7',
      'tracking 1Z999AA10123456784',
      '4155552671',
      '+1.5%',
      '(12) 2024-01-15',
      'see (12) 2019-2020',
      'Results (10) 1500 1600 in total',
      '(2) 3456-7890',
      '(00) 3456-7890',
      'f(12) 3456 7890 1234',
    ])('leaves %j alone', (text) => {
      expect(only('phone', text)).toBe(text);
    });
  });

  it('finds a phone number followed by more numbers in parentheses', () => {
    expect(only('phone', 'hotline +1-888-555-0102 (24/7)')).toBe('hotline [PHONE] (24/7)');
  });

  it('finds a phone number after a date in one run of digits', () => {
    expect(only('phone', 'on 2024-01-15 415-555-2671')).toBe('on 2024-01-15 [PHONE]');
  });

  it('stays linear on 100 KB of digits and of spaced digits', () => {
    const digits = '7'.repeat(100_000);
    expect(only('phone', digits)).toBe(digits);
    const spaced = '12 '.repeat(33_000);
    expect(only('phone', spaced)).toBe(spaced);
  });
});
