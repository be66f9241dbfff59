//! Tributary's data plane: the worker that runs connector tasks, and the
//! built-in connector plugins that the control plane links to validate and
//! split connector configs and clean up after deleted connectors without a
//! worker.
//!
//! The `runtime` feature (default) adds the worker ([`runtime`] beyond its
//! `errors.*` definitions) and the connector task implementations with their
//! client libraries; the control plane builds the crate without it.

pub mod connectors;
pub mod converters;
/// The worker protocol, a crate of its own shared with the control plane.
pub use tributary_protocol as protocol;
pub mod record;
pub mod runtime;
pub mod schema;
pub mod transforms;
