-- Bookkeeping for the bundled sample's automatic import: a start that was interrupted during
-- it resumes the (idempotent) import at the next start instead of serving a partial sample.
CREATE TABLE sample_import (
  name         text PRIMARY KEY,
  started_at   timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
