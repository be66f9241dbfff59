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
//! * [`control`]: run, pause or stop, as the worker asks a task.
//!
//! Only [`errors`] (its keys are part of every connector's definition) and
//! [`control`] are built without the `runtime` feature.

#[cfg(feature = "runtime")]
pub mod client;
pub mod control;
pub mod errors;
#[cfg(feature = "runtime")]
pub mod kafka;
#[cfg(feature = "runtime")]
pub mod offsets;
#[cfg(feature = "runtime")]
pub mod sink;
#[cfg(feature = "runtime")]
pub mod source;
#[cfg(feature = "runtime")]
pub mod task;
#[cfg(feature = "runtime")]
pub mod transactions;
#[cfg(feature = "runtime")]
pub mod worker;

#[cfg(feature = "runtime")]
pub use client::{ClientError, ControlPlaneClient};
pub use control::Control;
#[cfg(feature = "runtime")]
pub use task::{TaskHandle, TaskStatus};
#[cfg(feature = "runtime")]
pub use worker::{Worker, WorkerConfig};
