"""The next-category forecaster: the data at the target's most specific category, the rule
baselines, their metrics, a small GRU with a copy mechanism (catnet) and the conditional-logit
pool that mixes them with weights fitted on validation targets."""
