//! Confluent's v2 resource envelope: `api_version`/`kind`/`id`/`metadata`,
//! list pages with `ListMeta`, and `page_size`/`page_token` pagination.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;

pub const DEFAULT_PAGE_SIZE: i64 = 10;
pub const MAX_PAGE_SIZE: i64 = 100;

#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    pub page_size: Option<i64>,
    pub page_token: Option<String>,
}

impl PageParams {
    /// The page size to use; out-of-range sizes are a 400 naming the parameter.
    pub fn size(&self) -> Result<i64, ApiError> {
        match self.page_size {
            None => Ok(DEFAULT_PAGE_SIZE),
            Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
            Some(n) => Err(ApiError::invalid_field(
                "page_size",
                format!("page_size must be between 1 and {MAX_PAGE_SIZE}, got {n}"),
            )),
        }
    }

    /// The id after which the page starts (the token is the last id of the previous page).
    pub fn after(&self) -> Option<&str> {
        self.page_token.as_deref().filter(|t| !t.is_empty())
    }
}

pub fn timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn object_meta(
    self_url: String,
    crn: String,
    created: &DateTime<Utc>,
    updated: &DateTime<Utc>,
) -> Value {
    json!({
        "self": self_url,
        "resource_name": crn,
        "created_at": timestamp(created),
        "updated_at": timestamp(updated),
    })
}

/// A list page. `base` is the list URL including any filter query (but no
/// paging parameters); `next` is present only when a full page was returned.
pub fn list_page(
    api_version: &str,
    kind: &str,
    base: &str,
    data: Vec<Value>,
    last_id: Option<String>,
    page_size: i64,
    total: i64,
) -> Value {
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut meta = json!({ "first": base, "total_size": total });
    if data.len() as i64 == page_size {
        if let Some(last) = last_id {
            meta["next"] = json!(format!(
                "{base}{sep}page_size={page_size}&page_token={last}"
            ));
        }
    }
    json!({ "api_version": api_version, "kind": kind, "metadata": meta, "data": data })
}

pub fn org_crn(org: &str) -> String {
    format!("crn://confluent.cloud/organization={org}")
}

pub fn env_crn(org: &str, env: &str) -> String {
    format!("{}/environment={env}", org_crn(org))
}

pub fn cluster_crn(org: &str, env: &str, cluster: &str) -> String {
    format!("{}/cloud-cluster={cluster}", env_crn(org, env))
}
