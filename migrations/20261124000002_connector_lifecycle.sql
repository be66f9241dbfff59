-- Optimistic concurrency for connector writes (ETag / If-Match): bumped on
-- every change of config or target state.
ALTER TABLE connectors ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- Automatic restarts of failed tasks with capped exponential backoff.
ALTER TABLE tasks ADD COLUMN restart_attempts INT NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN next_restart_at TIMESTAMPTZ;

-- Idempotency-Key: a retried POST returns the first result.
CREATE TABLE idempotency_keys (
    org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INT NOT NULL,
    body         JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Source offsets (Kafka Connect's offset storage), written only by the task
-- incarnation that holds the current epoch.
CREATE TABLE source_offsets (
    connector_id     TEXT NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    source_partition JSONB NOT NULL,
    source_offset    JSONB NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (connector_id, source_partition)
);

-- Offset alter/reset requests (`POST …/offsets/request`): applied by the
-- reconciler while the connector's tasks are stopped.
CREATE TABLE offset_requests (
    connector_id     TEXT PRIMARY KEY REFERENCES connectors (id) ON DELETE CASCADE,
    request_type     TEXT NOT NULL CHECK (request_type IN ('PATCH', 'DELETE')),
    offsets          JSONB NOT NULL DEFAULT '[]'::jsonb,
    phase            TEXT NOT NULL DEFAULT 'PENDING',
    message          TEXT NOT NULL DEFAULT '',
    previous_offsets JSONB NOT NULL DEFAULT '[]'::jsonb,
    requested_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_at       TIMESTAMPTZ
);
