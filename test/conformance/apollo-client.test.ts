// Apollo Client 4, the client most storefronts use, against the running gateway: its Relay
// pagination helper pages `User.events` forward (`first`/`after`) and backward (`last`/`before`)
// to exactly the rows of one large page, and its normalised cache keeps one entry per item
// however many events point at it.
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { relayStylePagination } from '@apollo/client/utilities';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { importAmazon } from '../../src/import/amazon.js';
import { backends } from '../helpers/backends.js';
import { beautySlice } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const EVENTS = gql`
  query UserEvents($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    user(id: $id) {
      id
      events(first: $first, after: $after, last: $last, before: $before) {
        edges {
          cursor
          node {
            id
            type
            item {
              id
            }
          }
        }
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
      }
    }
  }
`;

interface EventsData {
  user: {
    id: string;
    events: {
      edges: { cursor: string; node: { id: string; item: { id: string } | null } }[];
      pageInfo: {
        hasNextPage: boolean;
        hasPreviousPage: boolean;
        startCursor: string | null;
        endCursor: string | null;
      };
    };
  };
}

function client(url: string): ApolloClient {
  return new ApolloClient({
    link: new HttpLink({ uri: url }),
    cache: new InMemoryCache({
      typePolicies: { User: { fields: { events: relayStylePagination() } } },
    }),
  });
}

describe.each(backends)('Apollo Client 4 on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  let userId: string;
  /** The user's whole history in one page, newest first. */
  let all: string[];
  let items: string[];

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    const slice = await beautySlice(40);
    await importAmazon(db, { sequences: [slice.sequences], attributes: [slice.attributes] });
    server = await startServer(db, { MAX_PAGE_SIZE: '50' });
    const longest = slice.lines
      .map((l) => l.trim().split(/\s+/))
      .filter((l) => l.length <= 40)
      .sort((a, b) => b.length - a.length)[0]!;
    userId = `beauty:${longest[0]}`;
    // a few repeats, so several events point at the same item
    const repeats = longest.slice(1, 4).map((i, k) => ({
      clientEventId: `apollo-${k}`,
      type: 'VIEW',
      userId,
      itemId: `beauty:${i}`,
    }));
    const recorded = await server.gql(
      `mutation($e: [EventInput!]!) { recordEvents(events: $e) { accepted } }`,
      { e: repeats },
    );
    expect(recorded.errors).toBeUndefined();
    const res = await server.gql<EventsData>(EVENTS.loc!.source.body, { id: userId, first: 50 });
    expect(res.errors).toBeUndefined();
    expect(res.data!.user.events.pageInfo.hasNextPage).toBe(false);
    all = res.data!.user.events.edges.map((e) => e.node.id);
    items = res.data!.user.events.edges.flatMap((e) => (e.node.item ? [e.node.item.id] : []));
    expect(all.length).toBeGreaterThan(8);
    expect(new Set(items).size).toBeLessThan(items.length);
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  /** Pages with `step` until pageInfo says there is no more, then reads the merged field. */
  async function pageAll(
    c: ApolloClient,
    size: Record<string, number>,
    next: (p: EventsData['user']['events']['pageInfo']) => Record<string, unknown> | null,
  ): Promise<EventsData['user']['events']> {
    const variables = { id: userId, ...size };
    let r = await c.query<EventsData>({ query: EVENTS, variables });
    for (let n = 0; n < 50; n++) {
      const more = next(r.data!.user.events.pageInfo);
      if (!more) break;
      r = await c.query<EventsData>({
        query: EVENTS,
        variables: { ...variables, ...more },
        fetchPolicy: 'network-only',
      });
    }
    return c.readQuery<EventsData>({ query: EVENTS, variables })!.user.events;
  }

  it('pages forward (first/after) to the whole history, without gaps or repeats', async () => {
    const c = client(server.url);
    const paged = await pageAll(c, { first: 3 }, (p) =>
      p.hasNextPage ? { after: p.endCursor } : null,
    );
    expect(paged.edges.map((e) => e.node.id)).toEqual(all);
    expect(paged.pageInfo.hasNextPage).toBe(false);
    c.stop();
  });

  it('pages backward from the end (last/before) to the same rows', async () => {
    const c = client(server.url);
    const paged = await pageAll(c, { last: 4 }, (p) =>
      p.hasPreviousPage ? { before: p.startCursor } : null,
    );
    expect(paged.edges.map((e) => e.node.id)).toEqual(all);
    expect(paged.pageInfo.hasPreviousPage).toBe(false);
    c.stop();
  });

  it('normalises items: one cache entry per item, events refer to it', async () => {
    const c = client(server.url);
    await c.query<EventsData>({ query: EVENTS, variables: { id: userId, first: 50 } });
    const store = c.cache.extract() as Record<string, Record<string, unknown>>;
    const itemKeys = Object.keys(store).filter((k) => k.startsWith('Item:'));
    expect(itemKeys.sort()).toEqual([...new Set(items)].map((id) => `Item:${id}`).sort());
    const refs = Object.entries(store)
      .filter(([k]) => k.startsWith('Event:'))
      .flatMap(([, e]) => (e.item ? [(e.item as { __ref: string }).__ref] : []));
    expect(refs).toHaveLength(items.length);
    expect(new Set(refs).size).toBe(itemKeys.length);
    c.stop();
  });
});
