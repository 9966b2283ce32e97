-- Read-your-writes with a read replica (READ_DATABASE_URL, src/db/read-routing.ts): the primary's
-- WAL position after each shopper's (user's or session's) latest recorded events. A forecast
-- reads the replica only once it has replayed past the positions of all its subjects. Logged,
-- so that it survives a crash and a promoted replica has it; rows older than the replica lag
-- bound are deleted (a replica that has not replayed them is skipped as lagging anyway).
CREATE TABLE subject_writes (
  subject text PRIMARY KEY, -- 'user:<id>' or 'session:<id>'
  lsn pg_lsn NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
