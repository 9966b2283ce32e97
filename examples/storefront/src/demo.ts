// What a storefront page does, against a running gateway (`npm start`):
//   [FORESIGHT_API_KEY=fsk_…] npx tsx examples/storefront/src/demo.ts [http://127.0.0.1:4000/graphql] [beauty:1]
// Shows a product page, reports the view, then asks the shopper's forecast and an anonymous
// visitor's, all through the typed documents.
import { ForesightClient } from './client.js';
import {
  ItemDetailsDocument,
  StorefrontForecastDocument,
  TrackEventsDocument,
  VisitorForecastDocument,
} from './gql/graphql.js';

const [url = 'http://127.0.0.1:4000/graphql', userId = 'beauty:1'] = process.argv.slice(2);
// FORESIGHT_PERSISTED=true: send documents by id (the gateway lists the manifest; README).
const client = new ForesightClient(
  url,
  process.env.FORESIGHT_API_KEY,
  process.env.FORESIGHT_PERSISTED === 'true',
);

const before = await client.request(StorefrontForecastDocument, { userId, first: 5 });
const top = before.interestForecast.items[0];
if (!top) throw new Error(`no forecast items for ${userId}`);
const { item } = await client.request(ItemDetailsDocument, { id: top.item.id });
console.log(`product page: ${item?.id} in ${item?.categories.map((c) => c.name).join(', ')}`);

const sent = await client.request(TrackEventsDocument, {
  events: [
    {
      clientEventId: `demo:${Date.now()}`,
      type: 'VIEW',
      userId,
      itemId: top.item.id,
      forecastId: before.interestForecast.id,
    },
  ],
});
console.log(`view recorded: ${sent.recordEvents.accepted} accepted`);

const after = await client.request(StorefrontForecastDocument, { userId, first: 5 });
for (const it of after.interestForecast.items)
  console.log(`${it.rank}. ${it.item.id} — ${it.reasons?.[0]?.message ?? ''}`);

const visitor = await client.request(VisitorForecastDocument, {
  events: [{ type: 'VIEW', itemId: top.item.id, page: { kind: 'PRODUCT', durationSeconds: 40 } }],
});
console.log(
  `anonymous visitor: ${visitor.interestForecast.items.length} items, purchase intent ` +
    `${visitor.interestForecast.purchaseIntent.probability?.toFixed(3) ?? visitor.interestForecast.purchaseIntent.reason}`,
);
