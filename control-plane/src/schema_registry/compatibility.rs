//! Whether a schema may follow a subject's versions under its level: which
//! versions it is checked against, in which directions, and Confluent's
//! messages for what fails.

use sqlx::{PgConnection, PgPool};

use super::avro_compat::{self, Incompatibility, Labels, NEW_READS_OLD, OLD_READS_NEW};
use super::references::{parse_input, parse_stored, SchemaInput};
use super::schema::ParsedSchema;
use super::subjects::{pick, VersionId};
use super::{config, json_schema_compat, protobuf_compat, Registry, RegistryError, Result};
use crate::store::schemas::{self as store, SubjectVersion};

/// Which ways a level checks: BACKWARD has the new schema read the old
/// one's data, FORWARD the old one read the new one's, FULL both.
#[derive(Clone, Copy)]
struct Directions {
    backward: bool,
    forward: bool,
}

impl Directions {
    /// The rendered reasons of `check(reader, writer, labels)` in each
    /// direction the level asks for, backward first.
    fn check<S>(
        self,
        new: &S,
        old: &S,
        check: impl Fn(&S, &S, Labels) -> Vec<String>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        if self.backward {
            out.extend(check(new, old, NEW_READS_OLD));
        }
        if self.forward {
            out.extend(check(old, new, OLD_READS_NEW));
        }
        out
    }
}

/// Why `new` may not follow `against` under `level`: one entry per old
/// version that fails, with its incompatibilities.
pub(super) async fn incompatibilities(
    conn: &mut PgConnection,
    reg: &Registry,
    level: &str,
    new: &ParsedSchema,
    against: &[SubjectVersion],
) -> Result<Vec<(SubjectVersion, Vec<String>)>> {
    if level == "NONE" {
        return Ok(Vec::new());
    }
    let directions = Directions {
        backward: level.starts_with("BACKWARD") || level.starts_with("FULL"),
        forward: level.starts_with("FORWARD") || level.starts_with("FULL"),
    };
    let mut failures = Vec::new();
    for old in against {
        let mut issues: Vec<String> = Vec::new();
        if old.schema_type != new.schema_type.as_str() {
            issues.push(format!(
                "{{errorType:'TYPE_MISMATCH', description:'Incompatible schema type {} (old) and {} (new)', additionalInfo:''}}",
                old.schema_type,
                new.schema_type.as_str()
            ));
        } else if let Some(old_parsed) = parse_stored(conn, reg, old).await? {
            if let (Some(n), Some(o)) = (&new.avro, &old_parsed.avro) {
                issues.extend(directions.check(n, o, |reader, writer, labels| {
                    let found = avro_compat::check(reader, writer, labels);
                    found.iter().map(Incompatibility::render).collect()
                }));
            }
            if let (Some(n), Some(o)) = (&new.json, &old_parsed.json) {
                issues.extend(directions.check(n, o, |reader, writer, labels| {
                    let found = json_schema_compat::check(reader, writer);
                    found.iter().map(|d| d.render(labels)).collect()
                }));
            }
            if let (Some(n), Some(o)) = (&new.protobuf, &old_parsed.protobuf) {
                issues.extend(directions.check(n, o, |reader, writer, labels| {
                    let found = protobuf_compat::check(reader, writer);
                    found.iter().map(|d| d.render(labels)).collect()
                }));
            }
        }
        if !issues.is_empty() {
            failures.push((old.clone(), issues));
        }
    }
    Ok(failures)
}

/// Confluent's detail list: the incompatibilities, then which old version,
/// its schema and the level.
pub(super) fn details(level: &str, old: &SubjectVersion, issues: &[String]) -> Vec<String> {
    let mut out = issues.to_vec();
    out.push(format!("{{oldSchemaVersion: {}}}", old.version));
    out.push(format!("{{oldSchema: '{}'}}", old.schema_text));
    out.push(format!("{{compatibility: '{level}'}}"));
    out
}

/// The versions a new schema is checked against under `level`.
pub(super) fn checked_against(level: &str, versions: &[SubjectVersion]) -> Vec<SubjectVersion> {
    if level.ends_with("_TRANSITIVE") {
        versions.to_vec()
    } else {
        versions.last().cloned().into_iter().collect()
    }
}

/// Whether a schema could follow a subject's versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub compatible: bool,
    /// Why not: Confluent's details of each version it may not follow.
    pub messages: Vec<String>,
}

/// Whether `input` could follow `version` of `subject` (`None`: the
/// versions its level names, the last one or all of them for
/// `_TRANSITIVE` levels) under the subject's level. With `latest` and no
/// versions yet, it can.
pub async fn check(
    pool: &PgPool,
    reg: &Registry,
    subject: &str,
    version: Option<VersionId>,
    input: &SchemaInput,
) -> Result<Verdict> {
    let mut conn = pool.acquire().await?;
    let (parsed, _) = parse_input(&mut conn, reg, input).await?;
    let versions = store::versions(&mut conn, &reg.org_id, &reg.env_id, subject, false).await?;
    let level = config::level_for(&mut conn, reg, subject).await?;
    let against = match version {
        None => checked_against(&level, &versions),
        Some(v) => match pick(&versions, v) {
            Some(found) => vec![found.clone()],
            // Nothing registered yet: anything is compatible with nothing.
            None if v == VersionId::Latest => Vec::new(),
            None if versions.is_empty() => {
                return Err(RegistryError::SubjectNotFound(subject.to_string()))
            }
            None => {
                let VersionId::Number(n) = v else {
                    return Err(RegistryError::SubjectNotFound(subject.to_string()));
                };
                return Err(RegistryError::VersionNotFound(n));
            }
        },
    };
    let failures = incompatibilities(&mut conn, reg, &level, &parsed, &against).await?;
    Ok(Verdict {
        compatible: failures.is_empty(),
        messages: failures
            .iter()
            .flat_map(|(old, issues)| details(&level, old, issues))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn transitive_levels_check_every_version() {
        let v = |n: i32| SubjectVersion {
            subject: "s".into(),
            version: n,
            deleted: false,
            id: n,
            schema_type: "AVRO".into(),
            schema_text: "\"long\"".into(),
            refs: sqlx::types::Json(json!([])),
        };
        let all = vec![v(1), v(2), v(3)];
        assert_eq!(checked_against("BACKWARD", &all).len(), 1);
        assert_eq!(checked_against("BACKWARD", &all)[0].version, 3);
        assert_eq!(checked_against("FULL_TRANSITIVE", &all).len(), 3);
        assert!(checked_against("FORWARD", &[]).is_empty());
    }
}
