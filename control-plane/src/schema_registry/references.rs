//! A schema as a request gives it (Confluent's `RegisterSchemaRequest`),
//! with the schemas of other subjects it references, and schemas parsed
//! again from the store for compatibility checks.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use super::schema::{self, ParsedSchema, SchemaType};
use super::subjects::{pick, VersionId};
use super::{Registry, RegistryError, Result};
use crate::store::schemas::{self as store, SubjectVersion};

/// A reference to the schema of a subject's version (`-1`: the latest).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Reference {
    pub name: String,
    pub subject: String,
    pub version: i32,
}

/// A schema, its type (absent: AVRO) and references, as sent (fields this
/// registry does not use are ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaInput {
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub schema_type: Option<String>,
    #[serde(default)]
    pub references: Option<Vec<Reference>>,
}

/// The texts of the schemas `refs` name (for parsing).
async fn resolve(
    conn: &mut PgConnection,
    reg: &Registry,
    refs: &[Reference],
) -> Result<Vec<String>> {
    let mut texts = Vec::with_capacity(refs.len());
    for r in refs {
        let versions = store::versions(conn, &reg.org_id, &reg.env_id, &r.subject, false).await?;
        let v = if r.version == -1 {
            VersionId::Latest
        } else {
            VersionId::Number(r.version)
        };
        let found = pick(&versions, v).ok_or_else(|| {
            RegistryError::InvalidSchema(format!(
                "Invalid schema: reference {} to subject {} version {} not found",
                r.name, r.subject, r.version
            ))
        })?;
        texts.push(found.schema_text.clone());
    }
    Ok(texts)
}

/// Parses the schema of a request (invalid when it does not parse).
pub(super) async fn parse_input(
    conn: &mut PgConnection,
    reg: &Registry,
    input: &SchemaInput,
) -> Result<(ParsedSchema, Vec<Reference>)> {
    let text = input
        .schema
        .as_deref()
        .ok_or_else(|| RegistryError::InvalidSchema("Empty schema".into()))?;
    let schema_type = SchemaType::parse(input.schema_type.as_deref()).ok_or_else(|| {
        RegistryError::InvalidSchema(format!(
            "Invalid schema type {}",
            input.schema_type.as_deref().unwrap_or_default()
        ))
    })?;
    let refs = input.references.clone().unwrap_or_default();
    let texts = resolve(conn, reg, &refs).await?;
    let parsed = schema::parse(schema_type, text, &texts).map_err(RegistryError::InvalidSchema)?;
    Ok((parsed, refs))
}

/// The schema of a stored version, parsed again (for compatibility checks).
pub(super) async fn parse_stored(
    conn: &mut PgConnection,
    reg: &Registry,
    v: &SubjectVersion,
) -> Result<Option<ParsedSchema>> {
    let Some(schema_type) = SchemaType::parse(Some(&v.schema_type)) else {
        return Ok(None);
    };
    let refs: Vec<Reference> = serde_json::from_value(v.refs.0.clone()).unwrap_or_default();
    let texts = resolve(conn, reg, &refs).await.unwrap_or_default();
    Ok(schema::parse(schema_type, &v.schema_text, &texts).ok())
}
