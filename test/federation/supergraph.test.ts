// Foresight in a shop's supergraph, composed for real: a small catalogue subgraph (the shop's
// Product: title and price) and the running Foresight gateway are composed by Apollo's own
// composition library, and Apollo's gateway serves queries that cross both. Entity resolution
// is batched: the recommendations of N products are one forecast batch.
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';

/** The shop's own catalogue subgraph: ids are the shop's (no dataset prefix). */
function catalogueSubgraph(products: { id: string; title: string; price: number }[]) {
  const typeDefs = parse(`
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
    type Product @key(fields: "id") { id: ID! title: String! price: Float! }
    type Query { products(first: Int = 10): [Product!]! product(id: ID!): Product }
  `);
  const byId = new Map(products.map((p) => [p.id, p]));
  return buildSubgraphSchema({
    typeDefs,
    resolvers: {
      Query: {
        products: (_: unknown, { first }: { first: number }) => products.slice(0, first),
        product: (_: unknown, { id }: { id: string }) => byId.get(id) ?? null,
      },
      Product: { __resolveReference: (ref: { id: string }) => byId.get(ref.id) ?? null },
    } as never,
  });
}

describe.each(backends)('Foresight in a supergraph on $name', (backend) => {
  let f: ForecastFixture;
  let catalogue: { url: string; stop: () => Promise<void> };
  let gateway: { url: string; stop: () => Promise<void> };
  let shopIds: string[];
  /** Subgraph requests the router sent to Foresight. */
  let foresightCalls = 0;

  const gql = async (query: string, variables?: Record<string, unknown>) => {
    const res = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as { data?: any; errors?: { message: string }[] };
  };

  beforeAll(async () => {
    f = await openForecastFixture(backend, { env: { FEDERATION_DATASET: 'beauty' } });
    // The shop's products: the first 8 Beauty items the model knows, under the shop's own ids.
    const known = f.model.vocab.items.filter((id) => f.model.knows(id)).slice(0, 8);
    shopIds = known.map((id) => id.slice('beauty:'.length));
    const catalogueServer = new ApolloServer({
      schema: catalogueSubgraph(
        shopIds.map((id, k) => ({ id, title: `Product ${id}`, price: 5 + k })),
      ),
    });
    const c = await startStandaloneServer(catalogueServer, { listen: { port: 0 } });
    catalogue = { url: c.url, stop: () => catalogueServer.stop() };

    // Composition from each subgraph's own SDL (its _service field), as a router would.
    const sdlOf = async (url: string) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ _service { sdl } }' }),
      });
      return ((await res.json()) as { data: { _service: { sdl: string } } }).data._service.sdl;
    };
    const composed = composeServices([
      { name: 'catalogue', url: catalogue.url, typeDefs: parse(await sdlOf(catalogue.url)) },
      { name: 'foresight', url: f.server.url, typeDefs: parse(await sdlOf(f.server.url)) },
    ]);
    expect(composed.errors ?? []).toEqual([]);
    const router = new ApolloServer({
      gateway: new ApolloGateway({
        supergraphSdl: composed.supergraphSdl!,
        buildService: ({ url }) =>
          new RemoteGraphQLDataSource({
            url: url!,
            willSendRequest: () => {
              if (url === f.server.url) foresightCalls++;
            },
          }),
      }),
    });
    const g = await startStandaloneServer(router, { listen: { port: 0 } });
    gateway = { url: g.url, stop: () => router.stop() };
  }, 180_000);

  afterAll(async () => {
    await gateway?.stop();
    await catalogue?.stop();
    await f?.close();
  });

  it("adds recommendations to the shop's products: one forecast batch for all of them", async () => {
    const before = f.engine.batcher.stats.batches;
    const calls = foresightCalls;
    const res = await gql(`{
      products(first: 8) {
        id title price
        foresightItem { id }
        recommendations(first: 3) { strategy items { rank item { id } } }
      }
    }`);
    expect(res.errors).toBeUndefined();
    const products = res.data.products as any[];
    expect(products.map((p) => p.id)).toEqual(shopIds);
    for (const p of products) {
      expect(p.title).toBe(`Product ${p.id}`); // from the catalogue subgraph
      expect(p.foresightItem).toEqual({ id: `beauty:${p.id}` }); // the id mapping
      expect(p.recommendations.strategy).toBe('CONTEXT_ITEM_MODEL');
      expect(p.recommendations.items).toHaveLength(3);
      for (const it of p.recommendations.items) expect(it.item.id).toMatch(/^beauty:/);
    }
    // one entity fetch to Foresight, one forecast batch for the 8 products
    expect(foresightCalls - calls).toBe(1);
    expect(f.engine.batcher.stats.batches - before).toBe(1);
  });

  it("resolves Foresight's own entities and a customer's forecast by key", async () => {
    const userId = `beauty:${f.lines[0]!.trim().split(/\s+/)[0]}`;
    // a representation as a router would send it, straight to the subgraph
    const res = await f.server.gql(
      `query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Item { id }
        ... on User { id }
        ... on Customer { id foresightUser { id } interestForecast(first: 2) { items { rank } } }
      } }`,
      {
        r: [
          { __typename: 'Item', id: `beauty:${shopIds[0]}` },
          { __typename: 'User', id: userId },
          { __typename: 'Customer', id: userId.slice('beauty:'.length) },
          { __typename: 'Item', id: 'beauty:no-such-item' },
        ],
      },
    );
    expect(res.errors).toBeUndefined();
    const [item, user, customer, missing] = res.data._entities;
    expect(item).toEqual({ id: `beauty:${shopIds[0]}` });
    expect(user).toEqual({ id: userId });
    expect(customer.foresightUser).toEqual({ id: userId });
    expect(customer.interestForecast.items).toHaveLength(2);
    expect(missing).toBeNull();
  });

  it('keeps the standalone graph: its fields answer as before', async () => {
    const res = await f.server.gql(`{ items(first: 2) { edges { node { id } } } }`);
    expect(res.errors).toBeUndefined();
    expect(res.data.items.edges).toHaveLength(2);
  });
});
