-- Active topics (Kafka Connect's `GET /connectors/{name}/topics`): recorded
-- from task reports, cleared by `PUT …/topics/reset`.
CREATE TABLE connector_topics (
    connector_id  TEXT NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    topic         TEXT NOT NULL,
    discovered_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (connector_id, topic)
);
