"""The domain of agentpref: rollouts, checks, pairs, formats. No UI, no SQL."""
