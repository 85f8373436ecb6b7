/**
 * The output of `systemctl show --property=… <unit>…`: one record of properties per unit, in the
 * order the units were given (blocks separated by a blank line; a missing block is empty).
 */
export function parseSystemctlShow(text: string, count: number): Array<Record<string, string>> {
  const blocks = text.trim().split(/\n\s*\n/);
  return Array.from({ length: count }, (_, i) => Object.fromEntries((blocks[i] ?? '').split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])));
}
