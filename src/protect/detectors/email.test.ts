import { describe, expect, it } from 'vitest';
import { only } from '../../test-support/redaction.js';

describe('email detector', () => {
  it.each([
    ['write to alice@example.com today', 'write to [EMAIL] today'],
    ['Alice.Smith+news@mail.example.co.uk', '[EMAIL]'],
    ['<bob_o-neil@sub.example-corp.io>', '<[EMAIL]>'],
    ['mailto:carol%test@example.org?subject=hi', 'mailto:[EMAIL]?subject=hi'],
    ['a@b.co, d.e@f.info.', '[EMAIL], [EMAIL].'],
    ['{"email":"x.y@example.net"}', '{"email":"[EMAIL]"}'],
    ['user123@example.com', '[EMAIL]'],
    ['Contact: alice@example.com: she knows', 'Contact: [EMAIL]: she knows'],
    ['leaked: alice@example.com:Winter2024!', 'leaked: [EMAIL]:Winter2024!'],
    ['bob@mail.example.org:hunter2 carol@example.net:x', '[EMAIL]:hunter2 [EMAIL]:x'],
    ["Key (email)=(o'brien@example.ie) already exists", 'Key (email)=([EMAIL]) already exists'],
    ["name='alice@example.com' or \"d'arcy.o'neil@example.com\"", 'name=\'[EMAIL]\' or "[EMAIL]"'],
    ["it's bob@example.com", "it's [EMAIL]"],
    ['Meine Adresse: jürgen.müller@firma.de.', 'Meine Adresse: [EMAIL].'],
    ['josé@example.com, søren@example.dk, łukasz@example.pl', '[EMAIL], [EMAIL], [EMAIL]'],
    ['пишите иван.петров@example.ru', 'пишите [EMAIL]'],
    ['user@münchen.de or info@пример.рф', '[EMAIL] or [EMAIL]'],
    ['メールはtaro@example.jp です', 'メールは[EMAIL] です'],
  ])('replaces the address in %j', (text, want) => {
    expect(only('email', text)).toBe(want);
  });

  it.each([
    'ping @alice on chat',
    'root@localhost',
    'npm i lodash@4.17.21',
    'icon@2x.png and logo@3x.jpg',
    'a@b',
    '.@example.com',
    'email me at alice at example dot com',
    'price 2 @ $3.50',
    '@@@@',
    'x@-bad-.com',
    'git clone git@github.com:org/repo.git',
    'git@gitlab.example.com:~/repo.git',
    'deploy@server.example.com:/srv/app',
    'psql postgres@db.example.com:5432',
    'ssh://git@github.com/org/repo.git',
  ])('leaves %j alone', (text) => {
    expect(only('email', text)).toBe(text);
  });

  it('does not take a local part longer than 64 characters', () => {
    const text = `${'a'.repeat(65)}@example.com`;
    expect(only('email', text)).toBe(text);
  });

  it('stays linear on 100 KB of @ and of dotted labels', () => {
    const at = '@'.repeat(100_000);
    expect(only('email', at)).toBe(at);
    const labels = `a@${'a.'.repeat(50_000)}1`;
    expect(only('email', labels)).toBe(labels);
    const many = 'a@b.'.repeat(25_000);
    expect(only('email', many)).toBe(many);
  });
});
