#!/usr/bin/env bash
# Example requests against a running gateway (npm start); override the URL with FORESIGHT_URL.
set -euo pipefail
URL="${FORESIGHT_URL:-http://127.0.0.1:4000/graphql}"

# Ten users with their three latest purchases.
curl -s "$URL" -H 'content-type: application/json' -d '{"query":
  "{ users(first: 10) { edges { node { id events(first: 3) { edges { node { sequence type item { id title brand categories { name } } } } } } } } }"}'
echo

# Record two events (run it twice: the second time both come back as duplicates).
curl -s "$URL" -H 'content-type: application/json' -d '{"query":
  "mutation($e: [EventInput!]!) { recordEvents(events: $e) { accepted duplicates } }",
  "variables": {"e": [
    {"clientEventId": "demo-1", "type": "VIEW", "userId": "beauty:1", "sessionId": "beauty:demo-s1", "itemId": "beauty:4"},
    {"clientEventId": "demo-2", "type": "CART", "userId": "beauty:1", "sessionId": "beauty:demo-s1", "itemId": "beauty:4"}
  ]}}'
echo
