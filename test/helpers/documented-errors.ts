// The error table of docs/security.md, read as the pairs it documents: `"<HTTP status> <code>"`
// for every status and every `extensions.code` of each row.
import { readFileSync } from 'node:fs';

export const SECURITY_DOC = readFileSync('docs/security.md', 'utf8');

export function documentedErrors(doc = SECURITY_DOC): Set<string> {
  const section = doc.slice(doc.indexOf('## Error codes'));
  const pairs = new Set<string>();
  for (const line of section.split('\n')) {
    if (!/^\|\s*\d/.test(line)) continue;
    const [, http, codes] = line.split('|').map((c) => c.trim());
    const statuses = http!.match(/\d{3}/g) ?? [];
    for (const code of codes!.match(/`[A-Z_]+`/g) ?? [])
      for (const s of statuses) pairs.add(`${s} ${code.slice(1, -1)}`);
  }
  return pairs;
}
