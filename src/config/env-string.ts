/** A variable as Sealtrail reads it (audit.enable() and the CLI alike): trimmed, and an empty value is unset. */
export function readString(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}
