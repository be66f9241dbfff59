-- Tributary's desired and observed state. Postgres is the only source of truth.

CREATE TABLE organizations (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    -- the operator's own organization (created on first start): its admins
    -- may read the fleet (workers, leader, scaling) through /ops/v1
    operator     BOOLEAN NOT NULL DEFAULT false,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE environments (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    display_name TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX environments_org ON environments (org_id, id);

-- A registered (existing) Kafka cluster: where connectors read and write.
CREATE TABLE kafka_clusters (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES organizations (id),
    environment_id     TEXT NOT NULL REFERENCES environments (id),
    display_name       TEXT NOT NULL,
    bootstrap_endpoint TEXT NOT NULL,
    -- extra librdkafka properties (security.protocol, sasl.*)
    client_properties  JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX kafka_clusters_env ON kafka_clusters (org_id, environment_id, id);

CREATE TABLE service_accounts (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    display_name TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    owner_id     TEXT NOT NULL,
    -- NULL for a cloud key; a cluster id for a resource key
    resource_id  TEXT,
    -- argon2 PHC string; the secret itself is never stored
    secret_hash  TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE role_bindings (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    principal   TEXT NOT NULL,
    role_name   TEXT NOT NULL,
    crn_pattern TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX role_bindings_principal ON role_bindings (principal);

-- Desired state of a connector. `generation` is bumped on every config
-- change; the reconciler re-splits the connector into tasks when the
-- tasks' generation lags behind.
CREATE TABLE connectors (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id),
    environment_id TEXT NOT NULL REFERENCES environments (id),
    cluster_id     TEXT NOT NULL REFERENCES kafka_clusters (id),
    name           TEXT NOT NULL,
    class          TEXT NOT NULL,
    connector_type TEXT NOT NULL,
    config         JSONB NOT NULL,
    target_state   TEXT NOT NULL DEFAULT 'RUNNING'
                   CHECK (target_state IN ('RUNNING', 'PAUSED', 'STOPPED')),
    generation     BIGINT NOT NULL DEFAULT 1,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (cluster_id, name)
);
CREATE INDEX connectors_org ON connectors (org_id, cluster_id, name);

CREATE TABLE workers (
    id               TEXT PRIMARY KEY,
    capacity         INT NOT NULL,
    version          TEXT NOT NULL DEFAULT '',
    registered_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_heartbeat   TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_expires_at TIMESTAMPTZ NOT NULL,
    draining         BOOLEAN NOT NULL DEFAULT false
);

-- Every (re)assignment takes a fresh epoch from this sequence, so a task's
-- epoch only grows and stale writers can be fenced.
CREATE SEQUENCE task_epochs;

CREATE TABLE tasks (
    connector_id     TEXT NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    task_id          INT NOT NULL,
    generation       BIGINT NOT NULL,
    config           JSONB NOT NULL,
    weight           INT NOT NULL DEFAULT 1,
    worker_id        TEXT REFERENCES workers (id) ON DELETE SET NULL,
    epoch            BIGINT NOT NULL DEFAULT 0,
    state            TEXT NOT NULL DEFAULT 'UNASSIGNED',
    trace            TEXT NOT NULL DEFAULT '',
    records          BIGINT NOT NULL DEFAULT 0,
    state_updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (connector_id, task_id)
);
CREATE INDEX tasks_worker ON tasks (worker_id);

-- One row: the reconciler leader's epoch. Every scheduling write is
-- conditioned on it, so a deposed leader's writes change nothing.
CREATE TABLE reconciler_leader (
    id          INT PRIMARY KEY CHECK (id = 1),
    epoch       BIGINT NOT NULL,
    holder      TEXT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Scaling decisions, kept for operators.
CREATE TABLE scaling_events (
    id         BIGSERIAL PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    from_count INT NOT NULL,
    to_count   INT NOT NULL,
    reason     TEXT NOT NULL
);
