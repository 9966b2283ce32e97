-- The rollout gate (src/serving/gate.ts): its verdict on each model version when it was last
-- admitted (rollout or start-up), and the reason given when a rollout overrode a refusal.
ALTER TABLE model_versions
  ADD COLUMN gate jsonb,
  ADD COLUMN gate_admitted_by text CHECK (gate_admitted_by IN ('ROLLOUT', 'START_UP')),
  ADD COLUMN gate_override_reason text,
  ADD COLUMN gate_at timestamptz;
