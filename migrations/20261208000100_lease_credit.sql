-- Store outages credited to worker leases (issue 19). While the store is
-- down no lease can be renewed, so when it returns every lease that was
-- live when the outage began is extended by the outage. One row: the end
-- of the last credited outage, so replicas that each saw the same outage
-- credit it once.
CREATE TABLE lease_credit (
    id             INT PRIMARY KEY CHECK (id = 1),
    credited_until TIMESTAMPTZ NOT NULL
);
INSERT INTO lease_credit (id, credited_until) VALUES (1, '-infinity');
