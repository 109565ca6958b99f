import { describe, expect, it } from 'vitest';
import { SensitiveNames, splitName } from './sensitive-names.js';

describe('splitName', () => {
  it.each([
    ['apiKey', ['api', 'key']],
    ['APIKey', ['api', 'key']],
    ['x-api-key', ['x', 'api', 'key']],
    ['OPENAI_API_KEY', ['openai', 'api', 'key']],
    ['spring.datasource.password', ['spring', 'datasource', 'password']],
    ['inputTokens', ['input', 'tokens']],
    ['cvv2', ['cvv2']],
    ['sha256Digest', ['sha256', 'digest']],
    ['nueva_contraseña', ['nueva', 'contraseña']],
    ['contraseñaNueva', ['contraseña', 'nueva']],
    ['Пароль', ['пароль']],
    ['price×2', ['price', '2']],
    ['', []],
  ])('splits %j into %j', (name, words) => {
    expect(splitName(name)).toEqual(words);
  });
});

describe('SensitiveNames', () => {
  const names = new SensitiveNames();

  it.each([
    'password',
    'Password',
    'PASSWORD',
    'db_password',
    'newPassword',
    'passwd',
    'pwd',
    'DB_PWD',
    'secret',
    'client_secret',
    'clientSecret',
    'token',
    'access_token',
    'refreshToken',
    'csrf-token',
    'password_reset_token',
    'api_key',
    'apiKey',
    'ApiKey',
    'APIKEY',
    'x-api-key',
    'X-API-Key',
    'OPENAI_API_KEY',
    'privateKey',
    'private_key',
    'aws_secret_access_key',
    'authorization',
    'Authorization',
    'cookie',
    'Set-Cookie',
    'credentials',
    'pin',
    'card_pin',
    'cvv',
    'connectionString',
    'password_hash',
    'PGPASSWORD',
    'rootpassword',
    'auth_token',
    'authCode',
    'pin_code',
    'secret_value',
    'pin_number',
    'pass_hash',
    'pin_digits',
    'otp',
    'client_secret',
    'Passwort',
    'kennwort',
    'wachtwoord',
    'senha',
    'mot_de_passe',
    'motDePasse',
    'contraseña',
    'nueva_contraseña',
    'Lösenord',
    'hasło',
    'jelszó',
    'şifre',
    'Пароль',
    'ПАРОЛЬ',
    'lozinka',
  ])('treats %j as sensitive', (name) => {
    expect(names.isSensitive(name)).toBe(true);
  });

  it.each([
    'café',
    'über',
    'straße',
    'naïve',
    'имя',
    'monkey',
    'spinner',
    'keyboard',
    'turkey',
    'passenger',
    'passport',
    'compass',
    'bypass',
    'author',
    'tokens',
    'inputTokens',
    'outputTokens',
    'totalTokens',
    'max_tokens',
    'tokenizer',
    'tokenCount',
    'token_count',
    'token_type',
    'tokenType',
    'password_length',
    'passwordMinLength',
    'min_password_length',
    'hasPassword',
    'is_secret',
    'secretName',
    'secret_arn',
    'api_key_id',
    'accessKeyId',
    'apiKeyName',
    'key',
    'keys',
    'publicKey',
    'public_key',
    'primaryKey',
    'authMethod',
    'auth_type',
    'sessionId',
    'session',
    'PWD',
    'OLDPWD',
    'authDomain',
    'secret_santa',
    'pass_rate',
    'cookie_jar',
    'otp_sent',
    'NOPASSWD',
    'haspassword',
    'secret_key_id',
    '',
  ])('does not treat %j as sensitive', (name) => {
    expect(names.isSensitive(name)).toBe(false);
  });

  it('adds whole words given to it, never substrings', () => {
    const more = new SensitiveNames(['dob', 'SSN']);
    expect(more.isSensitive('patient_dob')).toBe(true);
    expect(more.isSensitive('ssn')).toBe(true);
    expect(more.isSensitive('doberman')).toBe(false);
    expect(names.isSensitive('patient_dob')).toBe(false);
  });

  it('gives the same answer from its cache, and keeps the cache bounded', () => {
    const n = new SensitiveNames();
    for (let i = 0; i < 5000; i++) n.isSensitive(`field${i}`);
    expect(n.isSensitive('apiKey')).toBe(true);
    expect(n.isSensitive('apiKey')).toBe(true);
    expect(n.isSensitive('monkey')).toBe(false);
  });
});
