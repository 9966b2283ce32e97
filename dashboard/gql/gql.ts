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
    "query DashboardShopper($u: ID!) {\n  user(id: $u) {\n    id\n    dataset\n    events(first: 10) {\n      edges {\n        node {\n          sequence\n          type\n          occurredAt\n          item {\n            ...DashboardProduct\n          }\n        }\n      }\n    }\n    interestTimeline(bucket: EVENTS, size: 5) {\n      buckets {\n        firstPosition\n        lastPosition\n        eventCount\n        categories(first: 3) {\n          share\n          category {\n            name\n          }\n        }\n      }\n    }\n    interestDrift(recent: 5) {\n      score\n      migrating\n      gained(first: 3) {\n        change\n        category {\n          name\n        }\n      }\n      lost(first: 3) {\n        change\n        category {\n          name\n        }\n      }\n    }\n    interestForecast(first: 10, explain: true) {\n      id\n      modelVersion\n      mode\n      strategy\n      strategyDetail\n      basedOnEvents\n      executionProvider\n      items {\n        rank\n        score\n        item {\n          ...DashboardProduct\n        }\n        reasons {\n          kind\n          message\n        }\n      }\n      categories(first: 8) {\n        probability\n        category {\n          id\n          name\n        }\n      }\n    }\n  }\n}\n\nquery DashboardUsers {\n  users(first: 20) {\n    edges {\n      node {\n        id\n      }\n    }\n  }\n}\n\nfragment DashboardProduct on Item {\n  id\n  title\n  brand\n  categories {\n    name\n    parent {\n      name\n    }\n  }\n}": typeof types.DashboardShopperDocument,
};
const documents: Documents = {
    "query DashboardShopper($u: ID!) {\n  user(id: $u) {\n    id\n    dataset\n    events(first: 10) {\n      edges {\n        node {\n          sequence\n          type\n          occurredAt\n          item {\n            ...DashboardProduct\n          }\n        }\n      }\n    }\n    interestTimeline(bucket: EVENTS, size: 5) {\n      buckets {\n        firstPosition\n        lastPosition\n        eventCount\n        categories(first: 3) {\n          share\n          category {\n            name\n          }\n        }\n      }\n    }\n    interestDrift(recent: 5) {\n      score\n      migrating\n      gained(first: 3) {\n        change\n        category {\n          name\n        }\n      }\n      lost(first: 3) {\n        change\n        category {\n          name\n        }\n      }\n    }\n    interestForecast(first: 10, explain: true) {\n      id\n      modelVersion\n      mode\n      strategy\n      strategyDetail\n      basedOnEvents\n      executionProvider\n      items {\n        rank\n        score\n        item {\n          ...DashboardProduct\n        }\n        reasons {\n          kind\n          message\n        }\n      }\n      categories(first: 8) {\n        probability\n        category {\n          id\n          name\n        }\n      }\n    }\n  }\n}\n\nquery DashboardUsers {\n  users(first: 20) {\n    edges {\n      node {\n        id\n      }\n    }\n  }\n}\n\nfragment DashboardProduct on Item {\n  id\n  title\n  brand\n  categories {\n    name\n    parent {\n      name\n    }\n  }\n}": types.DashboardShopperDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query DashboardShopper($u: ID!) {\n  user(id: $u) {\n    id\n    dataset\n    events(first: 10) {\n      edges {\n        node {\n          sequence\n          type\n          occurredAt\n          item {\n            ...DashboardProduct\n          }\n        }\n      }\n    }\n    interestTimeline(bucket: EVENTS, size: 5) {\n      buckets {\n        firstPosition\n        lastPosition\n        eventCount\n        categories(first: 3) {\n          share\n          category {\n            name\n          }\n        }\n      }\n    }\n    interestDrift(recent: 5) {\n      score\n      migrating\n      gained(first: 3) {\n        change\n        category {\n          name\n        }\n      }\n      lost(first: 3) {\n        change\n        category {\n          name\n        }\n      }\n    }\n    interestForecast(first: 10, explain: true) {\n      id\n      modelVersion\n      mode\n      strategy\n      strategyDetail\n      basedOnEvents\n      executionProvider\n      items {\n        rank\n        score\n        item {\n          ...DashboardProduct\n        }\n        reasons {\n          kind\n          message\n        }\n      }\n      categories(first: 8) {\n        probability\n        category {\n          id\n          name\n        }\n      }\n    }\n  }\n}\n\nquery DashboardUsers {\n  users(first: 20) {\n    edges {\n      node {\n        id\n      }\n    }\n  }\n}\n\nfragment DashboardProduct on Item {\n  id\n  title\n  brand\n  categories {\n    name\n    parent {\n      name\n    }\n  }\n}"): typeof import('./graphql.js').DashboardShopperDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
