import { describe, expect, it } from 'vitest';
import { only } from '../../test-support/redaction.js';

describe('sensitive name=value detector', () => {
  it.each([
    ['password=hunter2', 'password=[SECRET:pair]'],
    ['PASSWORD: s3cr3t!', 'PASSWORD: [SECRET:pair]'],
    ['db.password = "correct horse"', 'db.password = "[SECRET:pair]"'],
    ['{"api_key": "abc123", "user": "bob"}', '{"api_key": "[SECRET:pair]", "user": "bob"}'],
    ["{'client_secret':'xyz'}", "{'client_secret':'[SECRET:pair]'}"],
    ['X-Api-Key: 0123abcd', 'X-Api-Key: [SECRET:pair]'],
    ['export DB_PASS=letmein', 'export DB_PASS=[SECRET:pair]'],
    ['GET /cb?code=1&access_token=abc.def&x=1', 'GET /cb?code=1&access_token=[SECRET:pair]&x=1'],
    ['Authorization: Basic dXNlcjpwYXNz', 'Authorization: Basic [SECRET:pair]'],
    ['password => "x1"', 'password => "[SECRET:pair]"'],
    ['secret := "x1"', 'secret := "[SECRET:pair]"'],
    ['{\\"password\\":\\"hunter2\\"}', '{\\"password\\":\\"[SECRET:pair]\\"}'],
    ['pin: 1234.', 'pin: [SECRET:pair].'],
    ['token=a\\"b', 'token=[SECRET:pair]\\"b'],
    ['Cookie: theme=dark; sid=abc\nAccept: */*', 'Cookie: [SECRET:pair]\nAccept: */*'],
    ['<add key="ApiSecret" value="x-9f2k" />', '<add key="ApiSecret" value="[SECRET:pair]" />'],
    ["{'Authorization': 'Bearer abc123'}", "{'Authorization': 'Bearer [SECRET:pair]'}"],
    // punctuation inside a value stays in it; a query parameter, a closing run or `, ` ends it
    ['password=Tr0ub4dor&3', 'password=[SECRET:pair]'],
    ['password=abc&flag', 'password=[SECRET:pair]'],
    ['GET /cb?password=s3cr3t&amp;next=/', 'GET /cb?password=[SECRET:pair]&amp;next=/'],
    ['password: a,b;c)d&e', 'password: [SECRET:pair]'],
    ['(password: abc), next', '(password: [SECRET:pair]), next'],
    ['{password: abc, user: bob}', '{password: [SECRET:pair], user: bob}'],
    ['Server=db;Password=p@ss;User Id=sa', 'Server=db;Password=[SECRET:pair];User Id=sa'],
    // a label of two words, the last of which alone is no secret
    ['API Key: Abc123Def456', 'API Key: [SECRET:pair]'],
    ['Secret Key = Qw3rTy9uIoP', 'Secret Key = [SECRET:pair]'],
    ['| License Key: ABCD-EFGH-1234-5678 |', '| License Key: [SECRET:pair] |'],
    // other languages
    ['Passwort: Geheim123!', 'Passwort: [SECRET:pair]'],
    ['mot de passe : Soleil2024!', 'mot de passe : [SECRET:pair]'],
    ['{"senha": "Segredo2024"}', '{"senha": "[SECRET:pair]"}'],
    ['f(password=abc)', 'f(password=[SECRET:pair])'],
    ['Token: Hunter2 is the one', 'Token: [SECRET:pair] is the one'],
    // .netrc, where nothing separates the name from the value
    [
      'machine api.example.com login bob password 8uH!x2qW',
      'machine api.example.com login bob password [SECRET:pair]',
    ],
    ['default login anonymous password guest@example', 'default login anonymous password [SECRET:pair]'],
    ['PGPASSWORD=hunter2 pg_dump -h db app', 'PGPASSWORD=[SECRET:pair] pg_dump -h db app'],
    ['psql --password s3cr3tpw99 -h db', 'psql --password [SECRET:pair] -h db'],
    ['mysqldump --db-password "s3cr3t pw 99" app', 'mysqldump --db-password "[SECRET:pair]" app'],
    ['--pin 1234.', '--pin [SECRET:pair].'],
    ['secret_value: 9f8e7d', 'secret_value: [SECRET:pair]'],
    ["retry with password 'Kx9!mQ2#' now", "retry with password '[SECRET:pair]' now"],
    ["the password 'abc1' was rejected", "the password '[SECRET:pair]' was rejected"],
    [
      'curl -u admin:letmein123 https://jenkins.local/api',
      'curl -u admin:[SECRET:pair] https://jenkins.local/api',
    ],
    ['curl --user "bob:two words" https://x.example', 'curl --user "bob:[SECRET:pair]" https://x.example'],
    ['docker login -u bot -p s3cr3tPass reg.io', 'docker login -u bot -p [SECRET:pair] reg.io'],
    ["sshpass -p 'hunter2!' ssh admin@host", "sshpass -p '[SECRET:pair]' ssh admin@host"],
    ['mysql -u root -pK9xw2Lq shop', 'mysql -u root -p[SECRET:pair] shop'],
    ['helm registry login ghcr.io -u me -p abc123', 'helm registry login ghcr.io -u me -p [SECRET:pair]'],
    [
      'docker login -p s3cr3tPass reg.io && docker run -p 8080:80 nginx',
      'docker login -p [SECRET:pair] reg.io && docker run -p 8080:80 nginx',
    ],
    [
      'curl -u a:b1x http://x; docker exec -u app:staff c ls',
      'curl -u a:[SECRET:pair] http://x; docker exec -u app:staff c ls',
    ],
  ])('replaces the value in %j', (text, want) => {
    expect(only('secret:pair', text)).toBe(want);
  });

  it.each([
    'monkey=banana',
    'spinner: on',
    'tokens: 1234',
    'max_tokens=4096',
    '"inputTokens": 312',
    'tokenizer: cl100k_base',
    'password_length=12',
    'Password: must be at least 8 characters',
    'Password: Must be at least 8 characters',
    'Open the login page password reset form to continue',
    'machine api.example.com login bob password <secret>',
    'Token: Expires in one hour',
    'password: ********',
    'password=<your password>',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell reference is the point
    'password=${DB_PASSWORD}',
    'password: $DB_PASSWORD',
    'api_key={{ secrets.API_KEY }}',
    'secret: null',
    'hasPassword=true',
    'password==other',
    'if (token != null)',
    'password: [SECRET:pair]',
    '[SECRET:pair]',
    'https://example.com/token',
    'password:',
    '"password": {"nested": 1}',
    'Authorization: required',
    'Authorization: Bearer <token>',
    'const apiKey = process.env.OPENAI_API_KEY;',
    'export const token = await getToken();',
    'password = os.getenv("DB_PASSWORD")',
    'token expired: yes',
    '<add key="Theme" value="dark" />',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template reference is the point
    'headers: { Authorization: `Bearer ${token}` }',
    'https://__token__:abc@pypi.example.com',
    'api_key: "YOUR_API_KEY_HERE"',
    'token: your-token-here',
    'password = getpass.getpass("Password: ")',
    'client_secret: !Ref ClientSecretParam',
    '{ authDomain: "demo.firebaseapp.com" }',
    '{"secret_santa": "Bob"}',
    'use the --password option to set it',
    'x264 --pass 2 in.y4m',
    'run --token --verbose',
    'deploy --password "$DB_PASS"',
    '--password-file /etc/app/pw.txt',
    'sudo: NOPASSWD: ALL',
    "click the password 'reset' link",
    'docker run -u 1000:1000 image',
    'docker exec -u postgres:postgres db psql',
    'sudo -u deploy:deploy ls',
    'Options:  --api-key API_KEY   your API key',
    'cmd = "--password " + pw + " --verbose"',
    'the recipe --secret ingredient: 2 cups',
    'log(f"password \'{password}\' rejected")',
    'curl -u bob https://x.example',
    'curl -u "$USER:$PASS" https://x.example',
    'ssh -p 2222 admin@host',
    'mkdir -p /var/lib/app',
    'docker run -p 8080:80 nginx',
    'mysql -u root -p shop',
    'docker login -u bot -p $DOCKER_PASSWORD reg.io',
    'docker login -p <password>',
    'Cache Key: user:42:profile',
    'Public Key: ssh-ed25519 AAAAC3Nza',
    'The API key: must be rotated every 90 days',
    'an e-paper display',
  ])('leaves %j alone', (text) => {
    expect(only('secret:pair', text)).toBe(text);
  });

  it.each([
    ['contraseña: Kx9mQ2abc', 'contraseña: [SECRET:pair]'],
    ['{"contraseña": "abc123"}', '{"contraseña": "[SECRET:pair]"}'],
    ['Пароль: qwerty12', 'Пароль: [SECRET:pair]'],
    ['hasło=Tajne#42', 'hasło=[SECRET:pair]'],
    ['şifre: gizli99x', 'şifre: [SECRET:pair]'],
  ])('reads a name of letters beyond ASCII in %j', (text, want) => {
    expect(only('secret:pair', text)).toBe(want);
  });

  it.each(['café: latte macchiato', 'Straße: Hauptstraße 5', 'naïve=true', 'имя: Иван'])(
    'leaves the non-secret name in %j alone',
    (text) => {
      expect(only('secret:pair', text)).toBe(text);
    },
  );

  describe('a password stated in prose', () => {
    it.each([
      ['my password is Summer2024! and yours?', 'my password is [SECRET:pair] and yours?'],
      ['the new password is now hunter2.', 'the new password is now [SECRET:pair].'],
      ['Password was changed to Tr0ub4dor&3 yesterday', 'Password was changed to [SECRET:pair] yesterday'],
      ['PASSWORD IS: Kx9!mQ2z, keep it', 'PASSWORD IS: [SECRET:pair], keep it'],
      ['Das Passwort ist Geheim#42.', 'Das Passwort ist [SECRET:pair].'],
      ['the wifi passphrase is "blue-Ocean-77"', 'the wifi passphrase is "[SECRET:pair]"'],
      ['your passcode has been reset to 7Zq2-9k1x)', 'your passcode has been reset to [SECRET:pair])'],
    ])('replaces the value in %j', (text, want) => {
      expect(only('secret:pair', text)).toBe(want);
    });

    it.each([
      'the password is incorrect, try again',
      'your password is 8 characters too short',
      'the password is set to expire in 90 days',
      'the password is case-sensitive, mind it',
      'the password is 2fa-protected by default',
      'the passcode is 6-digit and numeric',
      'the password is $DB_PASS from the env',
      'password is <redacted> in this transcript',
      'the password reset2 link was mailed',
      'the compass is n0rth-east of the camp',
      'the bypass is on2 for the weekend',
      'the password is at https://vault.example/x',
      'passwords are 12345678 characters long',
    ])('leaves %j alone', (text) => {
      expect(only('secret:pair', text)).toBe(text);
    });
  });

  it('stays linear on 100 KB of = and :', () => {
    const eq = 'password='.repeat(11_000);
    expect(only('secret:pair', eq).length).toBeGreaterThan(0);
    const colons = ':'.repeat(100_000);
    expect(only('secret:pair', colons)).toBe(colons);
    const quote = `password="${'a'.repeat(100_000)}`;
    expect(only('secret:pair', quote)).toMatch(/^password="\[SECRET:pair\]a+$/);
  });
});
