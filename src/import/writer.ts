// Buffers imported rows of all tables and writes them in batches (multi-row INSERT … ON
// CONFLICT DO NOTHING, one transaction per batch, parents before children), counting what
// was new. Re-importing the same file therefore adds nothing.
import type { NewCategory } from '../db/categories.js';
import { insertCategories } from '../db/categories.js';
import type { Db } from '../db/client.js';
import { insertEvents, type ImportedEvent } from '../db/events.js';
import { insertItemCategories, insertItems, type NewItem } from '../db/items.js';
import { insertSessions } from '../db/sessions.js';
import { insertUsers } from '../db/users.js';
import { analyzeTables } from '../db/bulk.js';

export const TABLES = [
  'categories',
  'items',
  'itemCategories',
  'users',
  'sessions',
  'events',
] as const;
export type Table = (typeof TABLES)[number];

export interface TableCount {
  /** Distinct rows read from the files. */
  read: number;
  /** Rows that were not yet in the database. */
  inserted: number;
  /** Rows that were there and changed (the catalogue importer's items). */
  updated?: number;
}

export class ImportWriter {
  readonly counts: Record<Table, TableCount> = Object.fromEntries(
    TABLES.map((t) => [t, { read: 0, inserted: 0 }]),
  ) as Record<Table, TableCount>;
  private categories: NewCategory[] = [];
  private items: NewItem[] = [];
  private itemCategories: {
    itemId: string;
    categoryId: string;
    position: number;
  }[] = [];
  private users: { id: string; dataset: string }[] = [];
  private sessions: { id: string; dataset: string; userId: string | null }[] = [];
  private events: ImportedEvent[] = [];
  // Parents are sent once per run; the database ignores those it already has.
  private readonly seen: Record<'categories' | 'items' | 'users' | 'sessions', Set<string>> = {
    categories: new Set(),
    items: new Set(),
    users: new Set(),
    sessions: new Set(),
  };

  constructor(
    private readonly db: Db,
    private readonly batchSize = 2000,
  ) {}

  private pending(): number {
    return (
      this.categories.length +
      this.items.length +
      this.itemCategories.length +
      this.users.length +
      this.sessions.length +
      this.events.length
    );
  }

  private async maybeFlush(): Promise<void> {
    if (this.pending() >= this.batchSize) await this.flush();
  }

  private firstSight(kind: keyof ImportWriter['seen'], id: string): boolean {
    const set = this.seen[kind];
    if (set.has(id)) return false;
    set.add(id);
    this.counts[kind].read++;
    return true;
  }

  async category(c: NewCategory): Promise<void> {
    if (this.firstSight('categories', c.id)) this.categories.push(c);
    await this.maybeFlush();
  }

  async item(i: NewItem): Promise<void> {
    if (this.firstSight('items', i.id)) this.items.push(i);
    await this.maybeFlush();
  }

  async itemCategory(link: {
    itemId: string;
    categoryId: string;
    position: number;
  }): Promise<void> {
    this.counts.itemCategories.read++;
    this.itemCategories.push(link);
    await this.maybeFlush();
  }

  async user(u: { id: string; dataset: string }): Promise<void> {
    if (this.firstSight('users', u.id)) this.users.push(u);
    await this.maybeFlush();
  }

  async session(s: { id: string; dataset: string; userId: string | null }): Promise<void> {
    if (this.firstSight('sessions', s.id)) this.sessions.push(s);
    await this.maybeFlush();
  }

  async event(e: ImportedEvent): Promise<void> {
    this.counts.events.read++;
    this.events.push(e);
    await this.maybeFlush();
  }

  async flush(): Promise<void> {
    if (this.pending() === 0) return;
    const [categories, items, itemCategories, users, sessions, events] = [
      this.categories,
      this.items,
      this.itemCategories,
      this.users,
      this.sessions,
      this.events,
    ];
    this.categories = [];
    this.items = [];
    this.itemCategories = [];
    this.users = [];
    this.sessions = [];
    this.events = [];
    await this.db.transaction(async (tx) => {
      this.counts.categories.inserted += await insertCategories(tx, categories);
      this.counts.items.inserted += await insertItems(tx, items);
      this.counts.itemCategories.inserted += await insertItemCategories(tx, itemCategories);
      this.counts.users.inserted += await insertUsers(tx, users);
      this.counts.sessions.inserted += await insertSessions(tx, sessions);
      this.counts.events.inserted += await insertEvents(tx, events);
    });
  }

  /**
   * Refreshes the planner statistics of the tables that received rows. Without them the
   * first queries after a bulk import are planned for empty tables (autovacuum analyzes
   * them only later, or never where it is off).
   */
  async analyze(): Promise<void> {
    const tables: Record<Table, string> = {
      categories: 'categories',
      items: 'items',
      itemCategories: 'item_categories',
      users: 'users',
      sessions: 'sessions',
      events: 'events',
    };
    const changed = TABLES.filter((t) => this.counts[t].inserted > 0).map((t) => tables[t]);
    await analyzeTables(this.db, changed);
  }
}
