//! A connector's offsets, and requests to alter or reset them. A request is
//! desired state like everything else: the reconciler stops the tasks,
//! applies it, and starts them again. The caller orchestrates nothing.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{Admitted, ConnectorService, Result, ServiceError};
use crate::kafka_admin;
use crate::lifecycle::{OffsetRequestPhase, TargetState};
use crate::store::connectors::{self as store, Connector};
use crate::store::notify_reconciler;
use crate::store::offsets::{self, OffsetRequest};
use crate::store::tenancy::Cluster;

/// How long [`ConnectorService::await_offsets_request`] waits for the
/// reconciler to apply a request.
pub const APPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// What an offsets request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetsRequestKind {
    /// Set the given offsets (`PATCH`).
    Alter,
    /// Forget every offset (`DELETE`).
    Reset,
}

impl OffsetsRequestKind {
    /// As requests name it, and the store keeps it.
    pub fn as_str(self) -> &'static str {
        match self {
            OffsetsRequestKind::Alter => "PATCH",
            OffsetsRequestKind::Reset => "DELETE",
        }
    }

    /// `PATCH` or `DELETE`, in any case.
    pub fn parse(s: &str) -> Option<OffsetsRequestKind> {
        [OffsetsRequestKind::Alter, OffsetsRequestKind::Reset]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

/// Checks each requested offset's shape for the connector's type.
fn check_offsets(connector_type: &str, offsets: &[Value]) -> Result<()> {
    for (i, o) in offsets.iter().enumerate() {
        let at = |what: &str| format!("offsets/{i}/{what}");
        let (Some(p), Some(off)) = (o.get("partition"), o.get("offset")) else {
            return Err(ServiceError::invalid(
                format!("offsets/{i}"),
                "each offset needs \"partition\" and \"offset\" objects",
            ));
        };
        if !p.is_object() {
            return Err(ServiceError::invalid(
                at("partition"),
                "partition must be an object",
            ));
        }
        if !off.is_object() {
            return Err(ServiceError::invalid(
                at("offset"),
                "offset must be an object",
            ));
        }
        if connector_type == "sink" {
            if !p["kafka_topic"].is_string() {
                return Err(ServiceError::invalid(
                    at("partition/kafka_topic"),
                    "kafka_topic must be a string",
                ));
            }
            if !p["kafka_partition"]
                .as_i64()
                .is_some_and(|n| (0..=i64::from(i32::MAX)).contains(&n))
            {
                return Err(ServiceError::invalid(
                    at("partition/kafka_partition"),
                    "kafka_partition must be a non-negative integer",
                ));
            }
            if off["kafka_offset"].as_i64().is_none_or(|n| n < 0) {
                return Err(ServiceError::invalid(
                    at("offset/kafka_offset"),
                    "kafka_offset must be a non-negative integer",
                ));
            }
        }
    }
    Ok(())
}

impl ConnectorService {
    /// Connector `name` and its current offsets as `{partition, offset}`
    /// objects. Sources: what their tasks committed (fenced by epoch).
    /// Sinks: the committed offsets of their consumer group, read from the
    /// Kafka cluster (unavailable when it does not answer).
    pub async fn offsets(&self, at: &Admitted<'_>, name: &str) -> Result<(Connector, Vec<Value>)> {
        let c = self.get(at, name).await?.connector;
        let list = self.current_offsets(at.cluster(), &c).await?;
        Ok((c, list))
    }

    async fn current_offsets(&self, cluster: &Cluster, c: &Connector) -> Result<Vec<Value>> {
        if c.connector_type == "source" {
            return Ok(offsets::source_offsets(&self.pool, &c.id).await?);
        }
        let props = cluster.connection_properties(&self.secrets)?;
        let committed = kafka_admin::committed_offsets(
            &cluster.bootstrap_endpoint,
            &props,
            &kafka_admin::sink_group(&c.id),
            &kafka_admin::sink_topics(&c.config),
        )
        .await
        .map_err(|e| ServiceError::Unavailable(e.to_string()))?;
        Ok(committed
            .into_iter()
            .map(|o| {
                json!({
                    "partition": {"kafka_partition": o.partition, "kafka_topic": o.topic},
                    "offset": {"kafka_offset": o.offset},
                })
            })
            .collect())
    }

    /// Records an alter or reset of connector `name`'s offsets (`offsets`
    /// empty for a reset) for the reconciler, which stops the tasks,
    /// applies it and starts them again. With `only_when_stopped`, refused
    /// unless the connector is STOPPED. A conflict while an earlier request
    /// is still pending.
    pub async fn request_offsets(
        &self,
        at: &Admitted<'_>,
        name: &str,
        kind: OffsetsRequestKind,
        offsets: &[Value],
        only_when_stopped: bool,
    ) -> Result<(Connector, OffsetRequest)> {
        let mut tx = self.pool.begin().await?;
        let c = store::lock(&mut tx, at.org_id(), &at.cluster().id, name)
            .await?
            .ok_or_else(|| ServiceError::connector_not_found(name))?;
        if only_when_stopped && c.target_state != TargetState::Stopped {
            return Err(ServiceError::NotStopped(c.name));
        }
        check_offsets(&c.connector_type, offsets)?;
        let Some(r) = offsets::put_request(&mut tx, &c.id, kind.as_str(), offsets).await? else {
            return Err(ServiceError::Conflict(format!(
                "an offsets request for connector {name} is still being applied; only one can run at a time"
            )));
        };
        notify_reconciler(&mut *tx, "offsets request").await?;
        tx.commit().await?;
        tracing::info!(connector = %c.id, kind = kind.as_str(), "offsets request recorded");
        Ok((c, r))
    }

    /// Connector `name` and its last offsets request.
    pub async fn offsets_request(
        &self,
        at: &Admitted<'_>,
        name: &str,
    ) -> Result<(Connector, OffsetRequest)> {
        let c = self.get(at, name).await?.connector;
        let r = offsets::get_request(&self.pool, &c.id)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!("no offsets request for connector {name}"))
            })?;
        Ok((c, r))
    }

    /// Waits (up to `timeout`) until the reconciler has applied the last
    /// offsets request of connector `c`.
    pub async fn await_offsets_request(&self, c: &Connector, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let r = offsets::get_request(&self.pool, &c.id)
                .await?
                .ok_or_else(|| ServiceError::connector_not_found(&c.name))?;
            match r.phase {
                OffsetRequestPhase::Applied => return Ok(()),
                OffsetRequestPhase::Failed => {
                    return Err(ServiceError::OffsetsRequestFailed(r.message))
                }
                OffsetRequestPhase::Pending => {}
            }
            if Instant::now() >= deadline {
                // The request is still applied later.
                return Err(ServiceError::TimedOut);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    #[test]
    fn sink_offsets_need_kafka_coordinates() {
        let good = json!([{"partition": {"kafka_topic": "t", "kafka_partition": 0}, "offset": {"kafka_offset": 5}}]);
        assert!(check_offsets("sink", good.as_array().unwrap()).is_ok());
        let bad = json!([{"partition": {"kafka_topic": "t", "kafka_partition": -1}, "offset": {"kafka_offset": 5}}]);
        let e = ApiError::from(check_offsets("sink", bad.as_array().unwrap()).unwrap_err());
        assert_eq!(
            e.field.as_deref(),
            Some("offsets/0/partition/kafka_partition")
        );
        let src = json!([{"partition": {"task.id": 0}, "offset": {"current.iteration": 10}}]);
        assert!(check_offsets("source", src.as_array().unwrap()).is_ok());
    }

    #[test]
    fn request_kinds_read_in_any_case() {
        assert_eq!(
            OffsetsRequestKind::parse("patch"),
            Some(OffsetsRequestKind::Alter)
        );
        assert_eq!(
            OffsetsRequestKind::parse("DELETE"),
            Some(OffsetsRequestKind::Reset)
        );
        assert_eq!(OffsetsRequestKind::parse("PUT"), None);
    }
}
