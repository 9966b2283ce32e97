-- Events imported with a shopper and a time but no session wait here until the importer cuts
-- their shopper's sessions at an inactivity gap (src/db/sessions.ts cutSessionsByInactivity). A
-- row is committed with its event, so an import that stopped half-way has its sessions cut by
-- the next run; events recorded through the API never wait here.
CREATE TABLE events_pending_session (
  event_id bigint PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE
);
