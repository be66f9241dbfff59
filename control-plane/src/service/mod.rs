//! The control plane's operations, whatever asks for them (Kafka Connect's
//! `Herder`): the HTTP faces (Connect v1 and the Kafka-Connect-compatible
//! root) adapt requests and answers around them, and so will the console
//! and the CLI. Plain arguments in, a domain error out; no HTTP here.

pub mod connectors;
