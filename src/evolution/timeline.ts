// A shopper's interest timeline: the category shares of their events per bucket of calendar
// time (UTC days, ISO weeks, months) where events have times, or per run of N events where the
// source has none (Amazon reviews: order only, never an invented date).
import type { CategorisedEventRow } from '../db/interests.js';
import { categoryMass, sharesOf, type CategoryWeight } from './distribution.js';

export const TIMELINE_BUCKETS = ['DAY', 'WEEK', 'MONTH', 'EVENTS'] as const;
export type TimelineBucket = (typeof TIMELINE_BUCKETS)[number];

export interface TimelineBucketShares {
  /** Start (inclusive) and end (exclusive) of a calendar bucket; null for EVENTS buckets. */
  start: Date | null;
  end: Date | null;
  /** Positions in the history (1 = oldest) of the bucket's first and last event. */
  firstPosition: number;
  lastPosition: number;
  eventCount: number;
  /** Events on items with at least one category (the shares' denominator). */
  categorisedEvents: number;
  categories: CategoryWeight[];
}

export interface Timeline {
  bucket: TimelineBucket;
  /** Events per bucket for EVENTS; null for calendar buckets. */
  size: number | null;
  buckets: TimelineBucketShares[];
  /** Events read (the newest ones, at most the limit). */
  readEvents: number;
  /** Events left out of calendar buckets because they have no time. */
  undatedEvents: number;
}

const DAY_MS = 86_400_000;

/** The UTC time of an event: its clock time, else the start of its day. */
function timeOf(e: CategorisedEventRow): number | null {
  if (e.occurredAt) return e.occurredAt.getTime();
  if (e.occurredOn) return Date.parse(`${e.occurredOn}T00:00:00Z`);
  return null;
}

/** The calendar bucket [start, end) containing `t`, in UTC (weeks start on Monday). */
function calendarBucket(kind: 'DAY' | 'WEEK' | 'MONTH', t: number): [number, number] {
  const day = Math.floor(t / DAY_MS) * DAY_MS;
  if (kind === 'DAY') return [day, day + DAY_MS];
  if (kind === 'WEEK') {
    const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday = 0
    const start = day - weekday * DAY_MS;
    return [start, start + 7 * DAY_MS];
  }
  const d = new Date(day);
  return [
    monthStart(d.getUTCFullYear(), d.getUTCMonth()),
    monthStart(d.getUTCFullYear(), d.getUTCMonth() + 1),
  ];
}

/** The first instant of a month (0-based, may be 12) of any year: Date.UTC would read years
 * 0–99 as 1900–1999. */
function monthStart(year: number, month: number): number {
  const t = new Date(0);
  t.setUTCFullYear(year, month, 1);
  return t.getTime();
}

/**
 * Buckets a history (oldest first; `positions[i]` is event i's place in the whole history, 1 =
 * oldest) and keeps the newest `last` non-empty buckets, oldest first. EVENTS buckets are
 * aligned on positions (1–size, size+1–2·size, …), so a bucket keeps its events as the history
 * grows. With `truncated` (older events exist than those read), the oldest bucket read may be
 * incomplete and is left out.
 */
export function interestTimeline(
  events: readonly CategorisedEventRow[],
  positions: readonly number[],
  bucket: TimelineBucket,
  size: number,
  last: number,
  truncated: boolean,
): Timeline {
  const groups = new Map<number, { start: number | null; end: number | null; members: number[] }>();
  let undated = 0;
  events.forEach((e, i) => {
    let key: number;
    let range: [number, number] | null = null;
    if (bucket === 'EVENTS') key = Math.floor(((positions[i] as number) - 1) / size);
    else {
      const t = timeOf(e);
      if (t === null) {
        undated += 1;
        return;
      }
      range = calendarBucket(bucket, t);
      key = range[0];
    }
    const g = groups.get(key);
    if (g) g.members.push(i);
    else groups.set(key, { start: range?.[0] ?? null, end: range?.[1] ?? null, members: [i] });
  });
  const ordered = [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
  if (truncated && ordered.length > 0) ordered.shift();
  const buckets = ordered.slice(Math.max(0, ordered.length - last)).map((g) => {
    const mass = categoryMass(g.members.map((i) => events[i] as CategorisedEventRow));
    const ps = g.members.map((i) => positions[i] as number);
    return {
      start: g.start === null ? null : new Date(g.start),
      end: g.end === null ? null : new Date(g.end),
      firstPosition: Math.min(...ps),
      lastPosition: Math.max(...ps),
      eventCount: g.members.length,
      categorisedEvents: mass.total,
      categories: sharesOf(mass),
    };
  });
  return {
    bucket,
    size: bucket === 'EVENTS' ? size : null,
    buckets,
    readEvents: events.length,
    undatedEvents: undated,
  };
}
