//! The Schema Registry's domain: every environment has one registry of
//! subjects, their versions and the schemas they hold (Avro, JSON Schema
//! and Protobuf), with Confluent's rules. Its HTTP face, Confluent's REST
//! API, is `api::schema_registry`; what that face does lives here.
//!
//! Compatibility levels BACKWARD (the default), BACKWARD_TRANSITIVE,
//! FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE and NONE are enforced
//! for all three schema types, by Confluent's rules and with its error
//! types: Avro schema resolution ([`avro_compat`]), JSON Schema content
//! models, types and constraints ([`json_schema_compat`]) and Protobuf
//! messages, field numbers, kinds, labels and oneofs ([`protobuf_compat`]).
//! A schema never follows one of another type. Protobuf schemas are
//! compiled on registration (an invalid one is refused); one that imports
//! other subjects is not compiled, so only its type is checked.
//!
//! | File | |
//! | --- | --- |
//! | `schema.rs` | parsing and normalising a schema, its fingerprint |
//! | `avro_compat.rs`, `json_schema_compat.rs`, `protobuf_compat.rs` | the compatibility checkers |
//! | `compatibility.rs` | which versions a schema is checked against, and the verdict |
//! | `config.rs` | compatibility levels of the registry and of subjects |
//! | `references.rs` | a schema as a request gives it, with the subjects it references |
//! | `subjects.rs` | register, look up, list, read and delete subject versions |
//! | `schemas.rs` | schemas by id |
//! | `error.rs` | what the operations fail with |
//!
//! Every query filters on the registry's organization and environment.

pub mod avro_compat;
pub mod compatibility;
pub mod config;
mod error;
pub mod json_schema_compat;
pub mod protobuf_compat;
pub mod references;
pub mod schema;
pub mod schemas;
pub mod subjects;

pub use error::{RegistryError, Result};

/// An environment's registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    pub org_id: String,
    pub env_id: String,
}

/// Subject names longer than this are refused.
const MAX_SUBJECT_LEN: usize = 255;

/// A subject name the registry accepts: 1 to 255 characters, none a control one.
pub fn check_subject(subject: &str) -> Result<()> {
    if subject.is_empty()
        || subject.len() > MAX_SUBJECT_LEN
        || subject.chars().any(|c| c.is_control())
    {
        return Err(RegistryError::InvalidSubject(subject.to_string()));
    }
    Ok(())
}
