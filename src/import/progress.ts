// Import progress on stderr: a progress bar on a terminal, a line every few seconds otherwise
// (logs of CI and containers), so an import is never silent.
import cliProgress from 'cli-progress';

export interface ProgressSink {
  start(label: string, totalBytes: number): void;
  update(bytes: number, rows: number): void;
  stop(): void;
}

export function createProgress(
  stream: NodeJS.WriteStream = process.stderr,
  intervalMs = 3000,
): ProgressSink {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: '{label} [{bar}] {percentage}% | {rows} rows | {duration_formatted}',
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    return {
      start: (label, total) => bar.start(Math.max(total, 1), 0, { label, rows: 0 }),
      update: (bytes, rows) => bar.update(bytes, { rows }),
      stop: () => bar.stop(),
    };
  }
  let label = '';
  let total = 1;
  let last = 0;
  let lastRows = 0;
  const line = (bytes: number, rows: number) =>
    stream.write(`${label}: ${Math.floor((100 * bytes) / total)}% (${rows} rows)\n`);
  return {
    start: (l, t) => {
      label = l;
      total = Math.max(t, 1);
      last = Date.now();
    },
    update: (bytes, rows) => {
      lastRows = rows;
      if (Date.now() - last >= intervalMs) {
        last = Date.now();
        line(bytes, rows);
      }
    },
    stop: () => {
      line(total, lastRows);
    },
  };
}

/** No output at all (tests, library use). */
export const silentProgress: ProgressSink = {
  start() {},
  update() {},
  stop() {},
};
