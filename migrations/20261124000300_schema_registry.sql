-- Schema Registry: one registry per environment, Confluent-compatible
-- (`/schema-registry/v1/environments/{env}/…`). Schema ids are numbered per
-- environment from 1; the same schema (same type and normalized text)
-- registered under several subjects of one environment keeps one id.

CREATE TABLE sr_schemas (
    org_id         TEXT NOT NULL REFERENCES organizations (id),
    environment_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    id             INT NOT NULL,
    -- AVRO, JSON or PROTOBUF
    schema_type    TEXT NOT NULL,
    -- the schema as registered (Avro: its canonical JSON without whitespace)
    schema_text    TEXT NOT NULL,
    -- sha256 of type + normalized text: finds an already registered schema
    fingerprint    TEXT NOT NULL,
    -- references to other subjects' schemas, as sent ([{name, subject, version}])
    refs           JSONB NOT NULL DEFAULT '[]'::jsonb,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (environment_id, id),
    UNIQUE (environment_id, fingerprint)
);

-- A subject's versions. Soft-deleted versions keep their number (a later
-- registration continues after them); a permanent delete removes the row.
CREATE TABLE sr_subject_versions (
    org_id         TEXT NOT NULL REFERENCES organizations (id),
    environment_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    subject        TEXT NOT NULL,
    version        INT NOT NULL,
    schema_id      INT NOT NULL,
    deleted        BOOLEAN NOT NULL DEFAULT false,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (environment_id, subject, version),
    FOREIGN KEY (environment_id, schema_id) REFERENCES sr_schemas (environment_id, id)
);
CREATE INDEX sr_subject_versions_schema ON sr_subject_versions (environment_id, schema_id);

-- Compatibility levels: the environment's global level (subject NULL → '')
-- and per-subject overrides.
CREATE TABLE sr_config (
    org_id         TEXT NOT NULL REFERENCES organizations (id),
    environment_id TEXT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    -- '' is the environment-wide (global) level
    subject        TEXT NOT NULL,
    compatibility  TEXT NOT NULL CHECK (compatibility IN (
        'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE',
        'FULL', 'FULL_TRANSITIVE', 'NONE')),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (environment_id, subject)
);
