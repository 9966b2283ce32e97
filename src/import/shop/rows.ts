// The rows of a shop's export, streamed: CSV with a header row (any one-character delimiter,
// found from the header unless given; RFC 4180 quotes, so a quoted field may hold the delimiter,
// quotes and line breaks) or JSON Lines (one object per line). Each row is its values by column
// name, with the line it starts on, so that a bad row can be reported as file:line.
import type { ProgressSink } from '../progress.js';
import { forEachLine } from '../report.js';

export type RowsFormat = 'csv' | 'jsonl';

/** A value of a row: text, or a list of texts (a JSON array). */
export type RowValue = string | string[];

export interface RowsOptions {
  /** csv or jsonl; by default from the file name (`.jsonl`, `.ndjson`, `.json` → jsonl). */
  format?: RowsFormat;
  /** CSV: the delimiter; by default the one of `,` `;` tab `|` found most in the header. */
  delimiter?: string;
  /** CSV: the file has no header row and these are its column names. */
  header?: string[];
  /** Cell texts that mean an empty cell (`NA`, `NULL`; compared trimmed, case as given). */
  nulls?: ReadonlySet<string>;
}

/** A CSV record may span this many lines at most (an unclosed quote would swallow the file). */
const MAX_RECORD_LINES = 1000;
const DELIMITERS = [',', ';', '\t', '|'];

export function rowsFormatOf(file: string): RowsFormat {
  return /\.(jsonl|ndjson|json)$/i.test(file) ? 'jsonl' : 'csv';
}

/** The fields of one CSV record (whole lines joined by \n), or null while a quote is open. */
export function splitCsvRecord(text: string, delimiter: string): string[] | null {
  if (!text.includes('"')) return text.split(delimiter);
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (ch === delimiter) {
      fields.push(field);
      field = '';
    } else field += ch;
    i++;
  }
  if (quoted) return null;
  fields.push(field);
  return fields;
}

function guessDelimiter(header: string): string {
  let best = ',';
  let most = 0;
  for (const d of DELIMITERS) {
    const n = (splitCsvRecord(header, d) ?? []).length;
    if (n > most) [best, most] = [d, n];
  }
  return best;
}

/** A JSON value as row text: strings as they are, exact numbers and booleans as text. */
function jsonText(v: unknown): RowValue | undefined | Error {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && !Number.isSafeInteger(v))
      return new Error('an integer beyond 2^53 is not exact in JSON; give it as a string');
    return String(v);
  }
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number'))
    return v.map(String);
  return new Error(`a value of type ${Array.isArray(v) ? 'array' : typeof v} cannot be read`);
}

/**
 * Calls `onRow` with each row of `file` (its values by column name, lower-cased and trimmed, and
 * the line it starts on) and `onBad` with each line that is not a row; blank lines are skipped.
 * Reads line by line, so memory does not grow with the file.
 */
export async function forEachRow(
  file: string,
  label: string,
  opts: RowsOptions,
  progress: ProgressSink,
  onRow: (row: Map<string, RowValue>, line: number) => Promise<void>,
  onBad: (line: number, reason: string) => void,
): Promise<void> {
  const format = opts.format ?? rowsFormatOf(file);
  let columns: string[] | null = opts.header ? opts.header.map(columnName) : null;
  let delimiter = opts.delimiter ?? null;
  let pending: { text: string; line: number; lines: number } | null = null;

  await forEachLine(file, label, progress, async (text, lineNo) => {
    if (format === 'jsonl') {
      if (text.trim() === '') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        return onBad(lineNo, `not valid JSON (${(err as Error).message})`);
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        return onBad(lineNo, 'expected a JSON object');
      const row = new Map<string, RowValue>();
      for (const [k, v] of Object.entries(parsed)) {
        const value = jsonText(v);
        if (value instanceof Error) return onBad(lineNo, `"${k}": ${value.message}`);
        if (value !== undefined && !(typeof value === 'string' && opts.nulls?.has(value.trim())))
          row.set(columnName(k), value);
      }
      return onRow(row, lineNo);
    }
    if (pending) {
      pending.text += `\n${text}`;
      pending.lines++;
    } else {
      if (text.trim() === '') return;
      pending = { text: text.replace(/^\uFEFF/, ''), line: lineNo, lines: 1 };
    }
    delimiter ??= guessDelimiter(pending.text);
    const fields = splitCsvRecord(pending.text, delimiter);
    if (fields === null && pending.lines < MAX_RECORD_LINES) return; // a quoted line break
    const record = pending;
    pending = null;
    if (fields === null)
      return onBad(
        record.line,
        `a quote opened here is not closed within ${MAX_RECORD_LINES} lines`,
      );
    if (columns === null) {
      columns = fields.map(columnName);
      return;
    }
    if (fields.length !== columns.length)
      return onBad(record.line, `${fields.length} fields where the header has ${columns.length}`);
    const row = new Map<string, RowValue>();
    const nulls = opts.nulls;
    columns.forEach((c, k) => {
      const v = fields[k] as string;
      row.set(c, nulls?.has(v.trim()) ? '' : v);
    });
    await onRow(row, record.line);
  });
  if (pending) onBad((pending as { line: number }).line, 'a quote opened here is never closed');
}

/** How a column is named for matching: lower case, without spaces, `_`, `-` and `.`. */
export function columnName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[\s_.-]/g, '');
}
