/* eslint-disable */
import * as types from './graphql.js';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation TrackEvents($events: [EventInput!]!) {\n  recordEvents(events: $events) {\n    accepted\n    duplicates\n  }\n}": typeof types.TrackEventsDocument,
    "query StorefrontForecast($userId: ID!, $first: Int = 8) {\n  interestForecast(userId: $userId, first: $first, explain: true) {\n    id\n    modelVersion\n    strategy\n    items {\n      rank\n      score\n      item {\n        id\n        title\n        price\n      }\n      reasons {\n        kind\n        message\n      }\n    }\n    categories(first: 3) {\n      probability\n      category {\n        id\n        name\n      }\n    }\n  }\n}\n\nquery VisitorForecast($events: [AnonymousEventInput!]!, $first: Int = 8) {\n  interestForecast(recentEvents: $events, first: $first) {\n    id\n    items {\n      rank\n      item {\n        id\n      }\n    }\n    purchaseIntent {\n      probability\n      likely\n      source\n      reason\n    }\n  }\n}": typeof types.StorefrontForecastDocument,
    "query ItemDetails($id: ID!) {\n  item(id: $id) {\n    id\n    title\n    brand\n    price\n    inStock\n    categories {\n      id\n      name\n    }\n  }\n}": typeof types.ItemDetailsDocument,
};
const documents: Documents = {
    "mutation TrackEvents($events: [EventInput!]!) {\n  recordEvents(events: $events) {\n    accepted\n    duplicates\n  }\n}": types.TrackEventsDocument,
    "query StorefrontForecast($userId: ID!, $first: Int = 8) {\n  interestForecast(userId: $userId, first: $first, explain: true) {\n    id\n    modelVersion\n    strategy\n    items {\n      rank\n      score\n      item {\n        id\n        title\n        price\n      }\n      reasons {\n        kind\n        message\n      }\n    }\n    categories(first: 3) {\n      probability\n      category {\n        id\n        name\n      }\n    }\n  }\n}\n\nquery VisitorForecast($events: [AnonymousEventInput!]!, $first: Int = 8) {\n  interestForecast(recentEvents: $events, first: $first) {\n    id\n    items {\n      rank\n      item {\n        id\n      }\n    }\n    purchaseIntent {\n      probability\n      likely\n      source\n      reason\n    }\n  }\n}": types.StorefrontForecastDocument,
    "query ItemDetails($id: ID!) {\n  item(id: $id) {\n    id\n    title\n    brand\n    price\n    inStock\n    categories {\n      id\n      name\n    }\n  }\n}": types.ItemDetailsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation TrackEvents($events: [EventInput!]!) {\n  recordEvents(events: $events) {\n    accepted\n    duplicates\n  }\n}"): typeof import('./graphql.js').TrackEventsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query StorefrontForecast($userId: ID!, $first: Int = 8) {\n  interestForecast(userId: $userId, first: $first, explain: true) {\n    id\n    modelVersion\n    strategy\n    items {\n      rank\n      score\n      item {\n        id\n        title\n        price\n      }\n      reasons {\n        kind\n        message\n      }\n    }\n    categories(first: 3) {\n      probability\n      category {\n        id\n        name\n      }\n    }\n  }\n}\n\nquery VisitorForecast($events: [AnonymousEventInput!]!, $first: Int = 8) {\n  interestForecast(recentEvents: $events, first: $first) {\n    id\n    items {\n      rank\n      item {\n        id\n      }\n    }\n    purchaseIntent {\n      probability\n      likely\n      source\n      reason\n    }\n  }\n}"): typeof import('./graphql.js').StorefrontForecastDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ItemDetails($id: ID!) {\n  item(id: $id) {\n    id\n    title\n    brand\n    price\n    inStock\n    categories {\n      id\n      name\n    }\n  }\n}"): typeof import('./graphql.js').ItemDetailsDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
