-- Identity and access: role-binding scopes usable in SQL, users with
-- passwords for console logins, encrypted cluster credentials, and the
-- audit log.

-- The scope of a role binding, derived from its CRN pattern by the database
-- itself (so no writer can store a pattern and a scope that disagree), as
-- LIKE patterns: NULL means "every resource at this level"; a trailing `*` of
-- the CRN becomes `%`, and LIKE's own metacharacters are escaped. A binding
-- on `…/organization=O` has all three NULL; `…/environment=E` sets env_like;
-- `…/cloud-cluster=C` cluster_like; `…/connector=N` connector_like.
ALTER TABLE role_bindings
    ADD COLUMN env_like TEXT GENERATED ALWAYS AS (
        replace(replace(replace(replace(
            substring(crn_pattern FROM '/environment=([^/]+)'),
            '\', '\\'), '%', '\%'), '_', '\_'), '*', '%')
    ) STORED,
    ADD COLUMN cluster_like TEXT GENERATED ALWAYS AS (
        replace(replace(replace(replace(
            substring(crn_pattern FROM '/cloud-cluster=([^/]+)'),
            '\', '\\'), '%', '\%'), '_', '\_'), '*', '%')
    ) STORED,
    ADD COLUMN connector_like TEXT GENERATED ALWAYS AS (
        replace(replace(replace(replace(
            substring(crn_pattern FROM '/connector=([^/]+)'),
            '\', '\\'), '%', '\%'), '_', '\_'), '*', '%')
    ) STORED;
CREATE INDEX role_bindings_org_principal ON role_bindings (org_id, principal);

-- People who sign in to the console (control-plane issued JWTs) or through
-- single sign-on (an external OpenID provider's tokens, matched by email).
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    email         TEXT NOT NULL,
    full_name     TEXT NOT NULL DEFAULT '',
    -- argon2 PHC string; NULL for users who only sign in through SSO
    password_hash TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_org ON users (org_id, id);

CREATE INDEX service_accounts_org ON service_accounts (org_id, id);
CREATE INDEX api_keys_org_owner ON api_keys (org_id, owner_id, id);

-- Secret client properties of a registered cluster (sasl.password, …),
-- sealed with the deployment's secrets key (AES-256-GCM, see secrets.rs).
ALTER TABLE kafka_clusters ADD COLUMN secret_properties TEXT;

-- Who did what, when, and how it ended, for every mutating API call.
CREATE TABLE audit_events (
    id          BIGSERIAL PRIMARY KEY,
    org_id      TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- `User:sa-…` or `User:u-…`
    principal   TEXT NOT NULL,
    -- the API key id, or `token` for a JWT
    credential  TEXT NOT NULL,
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    -- the route template, e.g. `DELETE /org/v2/environments/{id}`
    action      TEXT NOT NULL,
    status      INT NOT NULL,
    -- SUCCESS, DENIED (401/403/404/429) or FAILURE
    outcome     TEXT NOT NULL,
    error_code  TEXT,
    request_id  TEXT
);
CREATE INDEX audit_events_org ON audit_events (org_id, id DESC);
