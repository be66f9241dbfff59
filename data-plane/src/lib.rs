//! Tributary's data plane: the worker that runs connector tasks, and the
//! built-in connector plugins that the control plane links to validate and
//! split connector configs without a worker.

pub mod connectors;
pub mod converters;
pub mod protocol;
pub mod record;
pub mod runtime;
pub mod schema;
pub mod transforms;
