//! The one gate of connector operations: the cluster an operation names, if
//! the caller may act on it as the operation asks ([`Access`]).
//!
//! * The environment and cluster must be visible (else 404 naming which).
//! * An operation on one connector needs a binding covering that connector
//!   (or its cluster, environment, organization); else 404 for the connector.
//! * Changes need OrganizationAdmin, EnvironmentAdmin, CloudClusterAdmin or
//!   ConnectManager on the cluster (or on the named connector); else 403.
//! * Creating a connector checks the connectors-per-cluster and
//!   tasks-per-organization quotas.

use super::{ConnectorService, Result, ServiceError};
use crate::auth::authz::{self, has_grant, Reach, Scope, Target, CONNECT_WRITE};
use crate::auth::Principal;
use crate::store::connectors as store;
use crate::store::tenancy::{self, Cluster};

/// What an operation needs of the caller's grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access<'a> {
    /// See the cluster: list its connectors and plugins, validate configs.
    Cluster,
    /// See one connector.
    Read(&'a str),
    /// Change one connector: its config, state, tasks, topics, offsets.
    Write(&'a str),
    /// Write a connector's whole config, creating the connector when there
    /// is none (which counts against the quotas).
    Put(&'a str),
    /// Create a connector, named in the request: the grants must allow
    /// changing the cluster's connectors, within the quotas.
    Create,
}

impl<'a> Access<'a> {
    /// The connector the grants must cover.
    fn connector(self) -> Option<&'a str> {
        match self {
            Access::Read(n) | Access::Write(n) | Access::Put(n) => Some(n),
            Access::Cluster | Access::Create => None,
        }
    }

    fn changes(self) -> bool {
        !matches!(self, Access::Cluster | Access::Read(_))
    }
}

/// A caller admitted to a cluster by [`ConnectorService::admit`]: what
/// every operation acts on.
#[derive(Debug, Clone)]
pub struct Admitted<'a> {
    who: &'a Principal,
    env: &'a str,
    cluster: Cluster,
}

impl<'a> Admitted<'a> {
    pub fn who(&self) -> &'a Principal {
        self.who
    }

    pub fn org_id(&self) -> &'a str {
        &self.who.org_id
    }

    pub fn env(&self) -> &'a str {
        self.env
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }
}

impl ConnectorService {
    /// Admits `who` to cluster `cluster` of environment `env` for `access`.
    /// Invisible environments, clusters and connectors are 404s that name
    /// what was not found; a change without a role that allows it is
    /// forbidden; a new connector over quota is refused.
    pub async fn admit<'a>(
        &self,
        who: &'a Principal,
        env: &'a str,
        cluster: &str,
        access: Access<'_>,
    ) -> Result<Admitted<'a>> {
        let pool = &self.pool;
        let read = Scope::read(who);
        if tenancy::get_environment_scoped(pool, &read, env)
            .await?
            .is_none()
        {
            return Err(ServiceError::NotFound(format!(
                "environment {env} not found"
            )));
        }
        let found = tenancy::get_cluster_scoped(pool, &read, Some(env), cluster)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!("cluster {cluster} not found in environment {env}"))
            })?;
        let name = access.connector();
        let target = Target {
            env: Some(env),
            cluster: Some(cluster),
            connector: name,
        };
        if let Some(n) = name {
            if !has_grant(pool, &read, target, Reach::Covering).await? {
                return Err(ServiceError::connector_not_found(n));
            }
        }
        if access.changes() {
            let what = match name {
                Some(n) => format!("change connector {n}"),
                None => format!("change connectors of cluster {cluster}"),
            };
            let write = Scope::new(who, CONNECT_WRITE);
            if !has_grant(pool, &write, target, Reach::Covering).await? {
                return Err(ServiceError::Forbidden(authz::refusal(
                    who,
                    CONNECT_WRITE,
                    &what,
                )));
            }
            let creates = match access {
                Access::Create => true,
                Access::Put(n) => store::get(pool, &who.org_id, cluster, n).await?.is_none(),
                _ => false,
            };
            if creates {
                self.quotas
                    .check_connectors(pool, &who.org_id, cluster)
                    .await?;
                self.quotas.check_tasks(pool, &who.org_id, 1).await?;
            }
        }
        Ok(Admitted {
            who,
            env,
            cluster: found,
        })
    }
}
