//! The worker runtime: holds a lease with the control plane, runs the tasks
//! it is assigned (one tokio task each) and reports their states.
//!
//! * [`worker`]: register, heartbeat, diff assignments, self-fence, shut down.
//! * [`client`]: the HTTP side of the worker protocol.
//! * [`task`]: a running task's handle: its control channel and status.
//! * [`source`]: the source loop: poll → convert → produce → count acks.
//! * [`sink`]: the sink loop: consume → convert → transform → put → flush → commit.
//! * [`kafka`]: Kafka client settings, topic creation, delivery tracking.
//! * [`offsets`]: which source offsets are safe to commit.
//! * [`transactions`]: the source producer, and exactly-once delivery with Kafka transactions.
//! * [`errors`]: `errors.*`: retrying and tolerating failed conversions and transforms.

pub mod client;
pub mod errors;
pub mod kafka;
pub mod offsets;
pub mod sink;
pub mod source;
pub mod task;
pub mod transactions;
pub mod worker;

pub use client::{ClientError, ControlPlaneClient};
pub use task::{Control, TaskHandle, TaskStatus};
pub use worker::{Worker, WorkerConfig};
