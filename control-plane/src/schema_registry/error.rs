//! What registry operations fail with; the HTTP face renders each with
//! Confluent's status and error code, in one place.

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    #[error("Version {0} not found.")]
    VersionNotFound(i32),
    /// No schema with this id (as the caller named it).
    #[error("Schema {0} not found")]
    SchemaIdNotFound(String),
    /// The schema is not registered under the subject.
    #[error("Schema not found")]
    SchemaNotFound,
    /// The reason the schema is invalid.
    #[error("{0}")]
    InvalidSchema(String),
    #[error("The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"")]
    InvalidVersion(String),
    #[error("Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")]
    InvalidLevel,
    #[error("The specified subject '{0}' is not valid")]
    InvalidSubject(String),
    /// The schema may not follow an earlier version; `details` lists why.
    #[error("Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{details}]")]
    Incompatible { subject: String, details: String },
    #[error("Subject '{0}' was soft deleted.Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    NoSubjectLevel(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
