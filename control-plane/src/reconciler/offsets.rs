//! Applies offset alter/reset requests once the connector's tasks are gone
//! (`expand` keeps a connector with a pending request task-less). Source
//! offsets are rows fenced by epoch, so they can change at once; a sink's
//! consumer group must first have no members left.

use std::time::Duration;

use serde_json::Value;
use sqlx::types::Json;
use sqlx::PgPool;

use crate::kafka_admin::{self, KafkaAdminError, SinkOffset};
use crate::secrets::SecretBox;
use crate::store::offsets::{self, OffsetRequest};
use crate::store::tenancy::Cluster;

/// How long a sink's group may keep members before the request fails.
const GROUP_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

const SOURCE_RESET_MESSAGE: &str = "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be reset manually in the system that the connector uses.";

pub async fn apply_ready(pool: &PgPool, secrets: &SecretBox) -> Result<(), sqlx::Error> {
    for r in offsets::ready_requests(pool).await? {
        let target: Option<(String, String, Cluster)> = {
            let row: Option<(String, String, String)> = sqlx::query_as(
                "SELECT c.connector_type, c.cluster_id, c.org_id FROM connectors c WHERE c.id = $1",
            )
            .bind(&r.connector_id)
            .fetch_optional(pool)
            .await?;
            match row {
                None => None,
                Some((kind, cluster_id, org)) => {
                    let cluster: Option<Cluster> = sqlx::query_as(
                        "SELECT id, org_id, environment_id, display_name, bootstrap_endpoint, client_properties, secret_properties, created_at, updated_at
                         FROM kafka_clusters WHERE id = $1 AND org_id = $2",
                    )
                    .bind(&cluster_id)
                    .bind(&org)
                    .fetch_optional(pool)
                    .await?;
                    cluster.map(|c| (kind, r.connector_id.clone(), c))
                }
            }
        };
        let Some((kind, id, cluster)) = target else {
            continue;
        };
        let outcome = if kind == "source" {
            apply_source(pool, &r).await
        } else {
            apply_sink(pool, &r, &id, &cluster, secrets).await
        };
        match outcome {
            Ok(Some((message, previous))) => {
                offsets::finish_request(pool, &id, "APPLIED", &message, &previous).await?;
                tracing::info!(connector = %id, kind = %r.request_type, "offsets request applied");
                crate::store::notify_reconciler(pool, "offsets applied").await?;
            }
            Ok(None) => {}
            Err(message) => {
                tracing::warn!(connector = %id, %message, "offsets request failed");
                offsets::finish_request(pool, &id, "FAILED", &message, &[]).await?;
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
        sqlx::query("DELETE FROM source_offsets WHERE connector_id = $1")
            .bind(&r.connector_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        SOURCE_RESET_MESSAGE.to_string()
    } else {
        for o in r.offsets.iter() {
            sqlx::query(
                "INSERT INTO source_offsets (connector_id, source_partition, source_offset) VALUES ($1, $2, $3)
                 ON CONFLICT (connector_id, source_partition) DO UPDATE SET source_offset = $3, updated_at = now()",
            )
            .bind(&r.connector_id)
            .bind(Json(&o["partition"]))
            .bind(Json(&o["offset"]))
            .execute(&mut *tx)
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
    pool: &PgPool,
    r: &OffsetRequest,
    id: &str,
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
    let topics: Vec<String> = {
        let cfg: Option<(Json<std::collections::BTreeMap<String, String>>,)> =
            sqlx::query_as("SELECT config FROM connectors WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(|e| e.to_string())?;
        cfg.map(|(c,)| kafka_admin::sink_topics(&c))
            .unwrap_or_default()
    };
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
