// Read routing (READ_DATABASE_URL): a forecast batch's reads (histories, catalogue, pgvector
// retrieval) go to a streaming replica when it can answer them as the primary would, else to
// the primary; every write goes to the primary. The replica is skipped while it is down, not a
// standby (promoted), or lagging more than READ_REPLICA_MAX_LAG_MS; and a batch reads it only
// once it has replayed past the latest write of each of the batch's shoppers (read-your-writes,
// across gateway instances: the write positions are kept on the primary, subject_writes).
import type { Db } from './client.js';
import {
  deleteOldSubjectWrites,
  latestSubjectWrite,
  noteSubjectWrites,
  primaryLsn,
  replayLsn,
} from './replication.js';

/** Why a batch read where it did. */
export type ReadReason =
  | 'replica' // the replica, caught up with the batch's shoppers
  | 'replica-down' // unreachable, or no longer a standby
  | 'replica-lagging' // behind the primary by more than the bound (or by an unknown time)
  | 'behind-write'; // has not replayed a shopper's latest write yet

export interface ReadRoute {
  db: Db;
  target: 'replica' | 'primary';
  reason: ReadReason;
}

/** What /metrics reports (summed over a cluster's workers: counts add, lag takes the max). */
export interface ReadCounters {
  batches: Record<ReadReason, number>;
  /** Replica lag in seconds at the last check; null while unknown or down. */
  lagSeconds: number | null;
  /** 1 when the last check found the replica up and a standby, else 0. */
  replicaUp: number;
}

export interface ReadRoutingOptions {
  maxLagMs: number;
  /** How often the replica's position and lag are checked (while reads come). */
  checkMs?: number;
  now?: () => number;
  /** Told when the replica becomes unusable or usable again. */
  onChange?: (up: boolean, why: string) => void;
}

interface ReplicaState {
  at: number;
  up: boolean;
  replay: bigint | null;
  lagMs: number | null;
}

export class ReadRouter {
  private state: ReplicaState | null = null;
  private checking: Promise<ReplicaState> | null = null;
  /** The primary's position over time, to tell how long ago it was where the replica is. */
  private samples: { t: number; lsn: bigint }[] = [];
  private readonly counts: Record<ReadReason, number> = {
    replica: 0,
    'replica-down': 0,
    'replica-lagging': 0,
    'behind-write': 0,
  };
  private prunedAt: number;
  private readonly checkMs: number;
  private readonly now: () => number;

  constructor(
    readonly primary: Db,
    readonly replica: Db,
    private readonly options: ReadRoutingOptions,
  ) {
    this.checkMs = options.checkMs ?? 100;
    this.now = options.now ?? Date.now;
    this.prunedAt = this.now();
  }

  /**
   * Where a batch reading the histories of `subjects` ('user:<id>', 'session:<id>') reads. At
   * most one statement on the primary (the subjects' write positions) and, now and then, one on
   * each server to check the replica.
   */
  async route(subjects: readonly string[]): Promise<ReadRoute> {
    const s = await this.current();
    const primary = (reason: ReadReason): ReadRoute => {
      this.counts[reason]++;
      return { db: this.primary, target: 'primary', reason };
    };
    if (!s.up || s.replay === null) return primary('replica-down');
    if (s.lagMs === null || s.lagMs > this.options.maxLagMs) return primary('replica-lagging');
    if (subjects.length > 0) {
      const written = await latestSubjectWrite(this.primary, subjects);
      if (written !== null && written > s.replay) {
        // The checked position may be older than the write: ask the replica where it is now.
        const now = await replayLsn(this.replica).catch(() => null);
        if (now === null || written > now) return primary('behind-write');
      }
    }
    this.counts.replica++;
    return { db: this.replica, target: 'replica', reason: 'replica' };
  }

  /** After `subjects`' events are committed on the primary: their read-your-writes position. */
  async noteWrites(subjects: readonly string[]): Promise<void> {
    if (subjects.length === 0) return;
    await noteSubjectWrites(this.primary, subjects);
    const t = this.now();
    if (t - this.prunedAt >= 60_000) {
      this.prunedAt = t;
      // Older than the lag bound (with a margin): a replica without them is skipped anyway.
      const keepS = Math.max(60, (2 * this.options.maxLagMs) / 1000);
      await deleteOldSubjectWrites(this.primary, keepS);
    }
  }

  /** A read on the replica lost its connection: skip it until the next check finds it up. */
  replicaFailed(why: string): void {
    const was = this.state?.up ?? true;
    this.state = { at: this.now(), up: false, replay: null, lagMs: null };
    if (was) this.options.onChange?.(false, why);
  }

  counters(): ReadCounters {
    const s = this.state;
    return {
      batches: { ...this.counts },
      lagSeconds: s?.up && s.lagMs !== null ? s.lagMs / 1000 : null,
      replicaUp: s?.up && s.replay !== null ? 1 : 0,
    };
  }

  /**
   * The replica's state, checked at most every checkMs (down: every second). A state a little
   * old is used while the next check runs: its replay position is older than the replica's,
   * which only sends more reads to the primary.
   */
  private async current(): Promise<ReplicaState> {
    const s = this.state;
    const t = this.now();
    const every = s && !s.up ? 1000 : this.checkMs;
    if (s && t - s.at < every) return s;
    this.checking ??= this.check().finally(() => {
      this.checking = null;
    });
    // Waited for only when there is no state yet or it is older than the lag bound.
    if (!s || t - s.at > this.options.maxLagMs) return this.checking;
    this.checking.catch(() => undefined);
    return s;
  }

  private async check(): Promise<ReplicaState> {
    const was = this.state?.up ?? null;
    let next: ReplicaState;
    try {
      // The primary first: a replica at or past this position has everything acknowledged
      // before the check began.
      const p = await primaryLsn(this.primary);
      const t = this.now();
      this.samples.push({ t, lsn: p });
      const replay = await replayLsn(this.replica);
      if (replay === null) {
        next = { at: t, up: false, replay: null, lagMs: null };
        if (was !== false) this.options.onChange?.(false, 'the replica is not a standby');
      } else {
        next = { at: t, up: true, replay, lagMs: this.lagOf(replay, p, t) };
        if (was !== true) this.options.onChange?.(true, 'the replica answers as a standby');
      }
    } catch (err) {
      next = { at: this.now(), up: false, replay: null, lagMs: null };
      if (was !== false) this.options.onChange?.(false, (err as Error).message);
    }
    this.state = next;
    return next;
  }

  /**
   * How long ago the primary was where the replica has replayed to: 0 when the replica is at
   * the primary's position, null when no sample is that old (unknown: treated as lagging).
   */
  private lagOf(replay: bigint, primaryNow: bigint, t: number): number | null {
    if (replay >= primaryNow) {
      this.samples = [{ t, lsn: primaryNow }];
      return 0;
    }
    let newest = -1;
    for (let i = 0; i < this.samples.length; i++) {
      if (this.samples[i]!.lsn <= replay) newest = i;
    }
    if (newest < 0) {
      if (this.samples.length > 10_000) this.samples.splice(0, this.samples.length - 10_000);
      return null;
    }
    // Samples before the newest one at or behind the replica will never be needed again.
    this.samples.splice(0, newest);
    // The replica is past that sample, short of the next one: at most this long behind.
    return t - this.samples[0]!.t;
  }
}
