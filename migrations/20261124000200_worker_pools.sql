-- Worker pools (issue 5): workers serve the shared pool (NULL) or one named
-- pool; an organization may have a dedicated pool, and then its tasks run
-- only on workers of that pool. Set by the operator (PATCH /ops/v1/organizations/{id}).
ALTER TABLE organizations ADD COLUMN dedicated_pool TEXT NULL;
ALTER TABLE workers ADD COLUMN pool TEXT NULL;
-- Scaling decisions are taken per pool.
ALTER TABLE scaling_events ADD COLUMN pool TEXT NULL;
