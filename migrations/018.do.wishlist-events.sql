-- WISHLIST (an item put on a wishlist, a favourite) becomes an event type, appended after the
-- others (src/db/events.ts EVENT_TYPES, and models/training/foresight_training/contract.py in the
-- same order, so that shipped models keep their event-type indices).
ALTER TABLE events DROP CONSTRAINT events_type_check;
ALTER TABLE events ADD CONSTRAINT events_type_check
  CHECK (type IN ('VIEW', 'CART', 'PURCHASE', 'SEARCH', 'WISHLIST'));
