//! Reading connectors: one with its tasks, the ones of a cluster the caller
//! may see, the status a user is shown, and the topics they used.

use std::collections::HashMap;

use super::{Admitted, ConnectorService, Result, ServiceError};
use crate::lifecycle::{ConnectorState, TaskState};
use crate::store::connectors::{self as store, Connector, Task};
use crate::store::topics;

/// A connector with its tasks, in task order.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub connector: Connector,
    pub tasks: Vec<Task>,
}

/// What a user is shown of a connector's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Derived from the target state and the tasks' states.
    pub state: ConnectorState,
    /// The trace of the first failed task (empty when none failed).
    pub trace: String,
}

impl Status {
    pub fn of<'t>(c: &Connector, tasks: impl IntoIterator<Item = &'t Task>) -> Status {
        let tasks: Vec<&Task> = tasks.into_iter().collect();
        let task_states: Vec<TaskState> = tasks.iter().map(|t| t.state).collect();
        let trace = tasks
            .iter()
            .find(|t| t.state == TaskState::Failed)
            .map(|t| t.trace.clone())
            .unwrap_or_default();
        Status {
            state: ConnectorState::derive(c.target_state, &task_states),
            trace,
        }
    }
}

impl ConnectorService {
    /// Connector `name` with its tasks.
    pub async fn get(&self, at: &Admitted<'_>, name: &str) -> Result<Loaded> {
        let connector = store::get(&self.pool, at.org_id(), &at.cluster().id, name)
            .await?
            .ok_or_else(|| ServiceError::connector_not_found(name))?;
        let tasks = store::tasks_of(&self.pool, std::slice::from_ref(&connector.id)).await?;
        Ok(Loaded { connector, tasks })
    }

    /// The cluster's connectors the caller may see, by name (a page of them
    /// with `after`/`limit`). A caller bound to some connectors only sees
    /// those.
    pub async fn list(
        &self,
        at: &Admitted<'_>,
        after: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<Connector>> {
        let cluster = &at.cluster().id;
        let mut connectors = store::list(&self.pool, at.org_id(), cluster, after, limit).await?;
        let names = connectors.iter().map(|c| c.name.clone()).collect();
        let visible =
            crate::auth::authz::visible_connectors(&self.pool, at.who(), at.env(), cluster, names)
                .await?;
        connectors.retain(|c| visible.contains(&c.name));
        Ok(connectors)
    }

    /// How many connectors the cluster has.
    pub async fn count(&self, at: &Admitted<'_>) -> Result<i64> {
        Ok(store::count(&self.pool, at.org_id(), &at.cluster().id).await?)
    }

    /// The tasks of each of `connectors`, by connector id, in task order.
    pub async fn tasks_by_connector(
        &self,
        connectors: &[Connector],
    ) -> Result<HashMap<String, Vec<Task>>> {
        let ids: Vec<String> = connectors.iter().map(|c| c.id.clone()).collect();
        let mut out: HashMap<String, Vec<Task>> = HashMap::new();
        for t in store::tasks_of(&self.pool, &ids).await? {
            out.entry(t.connector_id.clone()).or_default().push(t);
        }
        Ok(out)
    }

    /// Connector `name` and the topics it has used since its creation or
    /// last reset (sinks: plus the topics they are configured to read), sorted.
    pub async fn active_topics(
        &self,
        at: &Admitted<'_>,
        name: &str,
    ) -> Result<(Connector, Vec<String>)> {
        let c = self.get(at, name).await?.connector;
        let mut topics = topics::of_connector(&self.pool, &c.id).await?;
        if c.connector_type == "sink" {
            for t in crate::kafka_admin::sink_topics(&c.config) {
                if !topics.contains(&t) {
                    topics.push(t);
                }
            }
            topics.sort();
        }
        Ok((c, topics))
    }

    /// Forgets the topics connector `name` has used.
    pub async fn reset_topics(&self, at: &Admitted<'_>, name: &str) -> Result<()> {
        let c = self.get(at, name).await?.connector;
        topics::reset(&self.pool, &c.id).await?;
        Ok(())
    }
}
