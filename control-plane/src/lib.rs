//! Tributary's control plane: the public REST API, the reconciler that turns
//! desired state into task assignments and a worker count, and the worker
//! providers that run the data-plane workers.

pub mod api;
pub mod auth;
pub mod bootstrap;
pub mod cleanup;
pub mod config;
pub mod connector_secrets;
pub mod error;
pub mod ids;
pub mod kafka_admin;
pub mod lifecycle;
pub mod provider;
pub mod reconciler;
pub mod rotate;
pub mod schema_registry;
pub mod secrets;
pub mod server;
pub mod service;
pub mod store;
