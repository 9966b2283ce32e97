// The fuzz suite's tally: cases per outcome (HTTP status and the first error's code, `data` for
// an answer without errors) overall and per field, printed as tables and, on request, written
// to bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type Counts = Map<string, number>;
const bump = (m: Counts, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
const sorted = (m: Counts) => [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));

export class Outcomes {
  readonly byOutcome: Counts = new Map();
  readonly byField = new Map<string, Counts>();
  cases = 0;

  add(field: string, status: number, code: string): void {
    this.cases++;
    const outcome = `${status} ${code}`;
    bump(this.byOutcome, outcome);
    let counts = this.byField.get(field);
    if (!counts) this.byField.set(field, (counts = new Map()));
    bump(counts, outcome);
  }

  /** The outcomes as a table, most frequent first, then each field's in one line. */
  table(title: string): string {
    const lines = sorted(this.byOutcome).map(([outcome, n]) => {
      const [status, code] = outcome.split(' ');
      return `  ${status}  ${code!.padEnd(30)} ${String(n).padStart(6)}`;
    });
    const fields = [...this.byField].map(
      ([f, counts]) =>
        `  ${f}: ${sorted(counts)
          .map(([o, n]) => `${o} ${n}`)
          .join(', ')}`,
    );
    return [title, '  HTTP code                             cases', ...lines, ...fields].join('\n');
  }

  /** Writes the tally to bench/results/<name>.json; returns the file. */
  write(name: string, extra: Record<string, unknown>): string {
    const file = path.resolve('bench/results', `${name}.json`);
    mkdirSync(path.dirname(file), { recursive: true });
    const byField = Object.fromEntries(
      [...this.byField].map(([f, c]) => [f, Object.fromEntries(c)]),
    );
    const report = {
      ...extra,
      cases: this.cases,
      outcomes: Object.fromEntries(this.byOutcome),
      byField,
    };
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    return file;
  }
}
