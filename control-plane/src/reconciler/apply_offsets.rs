//! Step: applies offset alter/reset requests once the connector's tasks
//! are gone (`expand` keeps a connector with a pending request task-less).
//! Source offsets are rows fenced by epoch, so they can change at once; a
//! sink's consumer group must first have no members left.

use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;

use crate::kafka_admin::{self, KafkaAdminError, SinkOffset};
use crate::lifecycle::OffsetRequestPhase;
use crate::secrets::SecretBox;
use crate::store::connectors::{self, ConfigMap};
use crate::store::offsets::{self, OffsetRequest};
use crate::store::tenancy::{self, Cluster};

/// How long a sink's group may keep members before the request fails.
const GROUP_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

const SOURCE_RESET_MESSAGE: &str = "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be reset manually in the system that the connector uses.";

pub async fn run(pool: &PgPool, secrets: &SecretBox) -> Result<(), sqlx::Error> {
    for r in offsets::ready_requests(pool).await? {
        let Some(c) = connectors::by_id(pool, &r.connector_id).await? else {
            continue;
        };
        let Some(cluster) =
            tenancy::get_cluster(pool, &c.org_id, &c.environment_id, &c.cluster_id).await?
        else {
            continue;
        };
        let id = c.id;
        let outcome = if c.connector_type == "source" {
            apply_source(pool, &r).await
        } else {
            apply_sink(&r, &id, &c.config, &cluster, secrets).await
        };
        match outcome {
            Ok(Some((message, previous))) => {
                offsets::finish_request(
                    pool,
                    &id,
                    OffsetRequestPhase::Applied,
                    &message,
                    &previous,
                )
                .await?;
                tracing::info!(connector = %id, kind = %r.request_type, "offsets request applied");
                crate::store::notify_reconciler(pool, "offsets applied").await?;
            }
            Ok(None) => {}
            Err(message) => {
                tracing::warn!(connector = %id, %message, "offsets request failed");
                offsets::finish_request(pool, &id, OffsetRequestPhase::Failed, &message, &[])
                    .await?;
                crate::store::notify_reconciler(pool, "offsets failed").await?;
            }
        }
    }
    Ok(())
}

type Applied = Option<(String, Vec<Value>)>;

async fn apply_source(pool: &PgPool, r: &OffsetRequest) -> Result<Applied, String> {
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    let previous = offsets::source_offsets(&mut *tx, &r.connector_id)
        .await
        .map_err(|e| e.to_string())?;
    let message = if r.request_type == "DELETE" {
        offsets::delete_source_offsets(&mut *tx, &r.connector_id)
            .await
            .map_err(|e| e.to_string())?;
        SOURCE_RESET_MESSAGE.to_string()
    } else {
        for o in r.offsets.iter() {
            offsets::put_source_offset(&mut *tx, &r.connector_id, &o["partition"], &o["offset"])
                .await
                .map_err(|e| e.to_string())?;
        }
        "The Connect framework-managed offsets for this connector have been altered successfully."
            .to_string()
    };
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(Some((message, previous)))
}

async fn apply_sink(
    r: &OffsetRequest,
    id: &str,
    config: &ConfigMap,
    cluster: &Cluster,
    secrets: &SecretBox,
) -> Result<Applied, String> {
    let group = kafka_admin::sink_group(id);
    let props = cluster
        .connection_properties(secrets)
        .map_err(|e| e.to_string())?;
    let (bootstrap, props) = (&cluster.bootstrap_endpoint, &props);
    match kafka_admin::ensure_group_idle(bootstrap, props, &group).await {
        Ok(()) => {}
        Err(KafkaAdminError::GroupActive { .. })
            if chrono::Utc::now() - r.requested_at
                < chrono::Duration::from_std(GROUP_IDLE_TIMEOUT).unwrap_or_default() =>
        {
            return Ok(None); // the tasks are still leaving; try on a later pass
        }
        Err(e) => return Err(e.to_string()),
    }
    let topics = kafka_admin::sink_topics(config);
    let previous: Vec<Value> = kafka_admin::committed_offsets(bootstrap, props, &group, &topics)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|o| serde_json::json!({"partition": {"kafka_partition": o.partition, "kafka_topic": o.topic}, "offset": {"kafka_offset": o.offset}}))
        .collect();
    if r.request_type == "DELETE" {
        kafka_admin::reset_offsets(bootstrap, props, &group)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(Some((
            "The offsets for this connector have been reset successfully.".into(),
            previous,
        )));
    }
    let wanted: Vec<SinkOffset> = r
        .offsets
        .iter()
        .filter_map(|o| {
            Some(SinkOffset {
                topic: o["partition"]["kafka_topic"].as_str()?.to_string(),
                partition: i32::try_from(o["partition"]["kafka_partition"].as_i64()?).ok()?,
                offset: o["offset"]["kafka_offset"].as_i64()?,
            })
        })
        .collect();
    kafka_admin::alter_offsets(bootstrap, props, &group, &wanted)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some((
        "The offsets for this connector have been altered successfully.".into(),
        previous,
    )))
}
