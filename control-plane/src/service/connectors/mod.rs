//! Every connector operation, in one place whatever asks for it (Kafka
//! Connect's `Herder`). A caller is first admitted to a cluster for the
//! access an operation needs ([`ConnectorService::admit`]); operations then
//! take plain arguments and answer domain values or a [`ServiceError`].
//!
//! | File | Operations |
//! | --- | --- |
//! | `access.rs` | the gate: [`ConnectorService::admit`] |
//! | `config.rs` | create, put and patch a config (secrets sealed, masks restored) |
//! | `lifecycle.rs` | pause, resume, stop (target states), restart connectors and tasks |
//! | `delete.rs` | delete (and the clean-up it starts) |
//! | `offsets.rs` | read offsets, record alter/reset requests, follow them |
//! | `read.rs` | connectors, their tasks, status and active topics |
//! | `validation.rs` | names, configs against their plugin and the egress policy |
//! | `idempotency.rs` | `Idempotency-Key`: a retried create answers the first answer |
//! | `precondition.rs` | versions (ETags) a write expects |

mod access;
mod config;
mod delete;
mod error;
mod idempotency;
mod lifecycle;
mod offsets;
mod precondition;
mod read;
mod validation;

use std::sync::Arc;

use sqlx::PgPool;
use tributary_data_plane::connectors::egress::EgressPolicy;

use crate::auth::quotas::Quotas;
use crate::secrets::SecretBox;

pub use access::{Access, Admitted};
pub use config::{CreateConnector, Written};
pub use error::{Result, ServiceError};
pub use idempotency::{Answer, Idempotency};
pub use lifecycle::Restarted;
pub use offsets::{OffsetsRequestKind, APPLY_TIMEOUT};
pub use precondition::{etag, Expected};
pub use read::{Loaded, Status};
pub use validation::{check_config, check_name, find_plugin, is_mask, Validated};

/// What connector operations need, built once at start.
pub struct ConnectorService {
    pool: PgPool,
    /// Seals and opens connector secrets and cluster credentials.
    secrets: Arc<SecretBox>,
    /// Which hosts connector configs may name (`TRIBUTARY_EGRESS_ALLOW`).
    egress: Arc<EgressPolicy>,
    quotas: Quotas,
}

impl ConnectorService {
    pub fn new(
        pool: PgPool,
        secrets: Arc<SecretBox>,
        egress: Arc<EgressPolicy>,
        quotas: Quotas,
    ) -> ConnectorService {
        ConnectorService {
            pool,
            secrets,
            egress,
            quotas,
        }
    }
}
