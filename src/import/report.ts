// What an import did: rows read and newly written per table, rejected rows with file:line.
import { stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ProgressSink } from './progress.js';
import type { ImportWriter, Table, TableCount } from './writer.js';

export interface ImportReport {
  counts: Record<Table, TableCount>;
  /** Number of rows rejected as malformed. */
  rejected: number;
  /** `file:line: reason` for the first rejected rows (all are counted in `rejected`). */
  rejections: string[];
  seconds: number;
}

const MAX_LISTED = 100;

export class Rejections {
  count = 0;
  readonly listed: string[] = [];
  constructor(private readonly onReject?: (message: string) => void) {}

  add(file: string, line: number | string, reason: string): void {
    this.count++;
    const message = `${file}:${line}: ${reason}`;
    if (this.listed.length < MAX_LISTED) this.listed.push(message);
    this.onReject?.(message);
  }
}

export function report(
  writer: ImportWriter,
  rejections: Rejections,
  started: number,
): ImportReport {
  return {
    counts: writer.counts,
    rejected: rejections.count,
    rejections: rejections.listed,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Streams a text file line by line (1-based numbers), reporting progress by bytes read. */
export async function forEachLine(
  file: string,
  label: string,
  progress: ProgressSink,
  onLine: (line: string, lineNo: number) => Promise<void>,
): Promise<void> {
  const { size } = await stat(file);
  const stream = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  progress.start(label, size);
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      await onLine(line, n);
      if (n % 500 === 0) progress.update(stream.bytesRead, n);
    }
  } finally {
    progress.update(size, n);
    progress.stop();
  }
}
