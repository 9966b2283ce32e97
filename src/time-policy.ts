// The one policy for the times the gateway accepts — DateTime and Date arguments of the API,
// days and times of imported files — so that nothing stored makes a later answer fail or lie:
// ISO-8601 text (or, in imported files, epoch seconds or milliseconds) whose calendar fields exist (no 30 February rolled over into March, no hour 24), within
// [EARLIEST_DAY, the server's clock + MAX_AHEAD_MS]. docs/security.md states it for clients.
// No imports: any module may depend on it.

/** The earliest day accepted (UTC); shops' behaviour logs start well after it. */
export const EARLIEST_DAY = '1990-01-01';
export const EARLIEST_MS = Date.parse(`${EARLIEST_DAY}T00:00:00Z`);
/** How far ahead of the server's clock a time may be (clients' clocks drift a little). */
export const MAX_AHEAD_MS = 5 * 60_000;

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

// RFC 3339 date-time: seconds and a zone required, fractions of a second optional.
const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

const shown = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] as number;
}

const validDay = (y: number, m: number, d: number) =>
  m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);

/** Midnight UTC of a day, for any year (Date.UTC maps years 0–99 to 1900–1999). */
function utcMidnight(y: number, m: number, d: number): number {
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d);
  return t.getTime();
}

/** The latest day accepted now: the UTC day of the server's clock + MAX_AHEAD_MS. */
export function latestDay(now = Date.now()): string {
  return new Date(now + MAX_AHEAD_MS).toISOString().slice(0, 10);
}

function inRange(t: number, text: string, now: number): string | null {
  if (t < EARLIEST_MS)
    return `${shown(text)} is before ${EARLIEST_DAY}, the earliest time accepted`;
  if (t > now + MAX_AHEAD_MS)
    return `${shown(text)} is more than ${MAX_AHEAD_MS / 60_000} minutes ahead of the server's clock`;
  return null;
}

/** An instant (RFC 3339 date-time, e.g. `2024-05-09T10:00:00Z` or `…+02:00`), checked. */
export function checkInstant(text: unknown, now = Date.now()): Checked<Date> {
  const m = typeof text === 'string' ? INSTANT.exec(text) : null;
  if (!m)
    return {
      ok: false,
      reason: `must be an ISO-8601 date-time with seconds and a zone (e.g. 2024-05-09T10:00:00Z), got ${
        typeof text === 'string' ? shown(text) : typeof text
      }`,
    };
  const s = text as string;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const offset = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  if (
    !validDay(y, mo, d) ||
    h > 23 ||
    mi > 59 ||
    se > 59 ||
    Number(m[10] ?? 0) > 23 ||
    Number(m[11] ?? 0) > 59
  )
    return { ok: false, reason: `${shown(s)} is not a time of the calendar` };
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const t = utcMidnight(y, mo, d) + ((h * 60 + mi - offset) * 60 + se) * 1000 + ms;
  const outside = inRange(t, s, now);
  return outside ? { ok: false, reason: outside } : { ok: true, value: new Date(t) };
}

/** A day (`YYYY-MM-DD`), checked; the value is the same text. */
export function checkDay(text: unknown, now = Date.now()): Checked<string> {
  const m = typeof text === 'string' ? DAY.exec(text) : null;
  if (!m)
    return {
      ok: false,
      reason: `must be a YYYY-MM-DD day, got ${typeof text === 'string' ? shown(text) : typeof text}`,
    };
  const s = text as string;
  const [y, mo, d] = m.slice(1, 4).map(Number) as [number, number, number];
  if (!validDay(y, mo, d)) return { ok: false, reason: `${shown(s)} is not a day of the calendar` };
  if (s < EARLIEST_DAY)
    return {
      ok: false,
      reason: `${shown(s)} is before ${EARLIEST_DAY}, the earliest day accepted`,
    };
  if (s > latestDay(now))
    return { ok: false, reason: `${shown(s)} is after today (${latestDay(now)}, UTC)` };
  return { ok: true, value: s };
}

const EPOCH = /^\d{1,16}(?:\.\d{1,9})?$/;

/**
 * An epoch time — seconds (`s`) or milliseconds (`ms`) since 1970-01-01T00:00:00Z as decimal
 * text, as shops' exports give them — checked against the same range; sub-millisecond parts
 * are dropped.
 */
export function checkEpoch(text: unknown, unit: 's' | 'ms', now = Date.now()): Checked<Date> {
  if (typeof text !== 'string' || !EPOCH.test(text))
    return {
      ok: false,
      reason: `must be epoch ${unit === 's' ? 'seconds' : 'milliseconds'} (digits), got ${
        typeof text === 'string' ? shown(text) : typeof text
      }`,
    };
  const t = Math.floor(Number(text) * (unit === 's' ? 1000 : 1));
  const outside = inRange(t, text, now);
  return outside ? { ok: false, reason: outside } : { ok: true, value: new Date(t) };
}
