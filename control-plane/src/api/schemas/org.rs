//! `/org/v2`: organizations and environments.

use serde::Serialize;
use utoipa::ToSchema;

use super::iam::{ApiKeyCreated, RoleBinding, ServiceAccount};
use super::{constant, ListMeta, ObjectMeta};

constant!(
    /// `org/v2`
    OrgV2 = "org/v2"
);
constant!(
    /// `Organization`
    OrganizationKind = "Organization"
);
constant!(
    /// `OrganizationList`
    OrganizationListKind = "OrganizationList"
);
constant!(
    /// `Environment`
    EnvironmentKind = "Environment"
);
constant!(
    /// `EnvironmentList`
    EnvironmentListKind = "EnvironmentList"
);

/// An organization: one tenant.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "api_version": "org/v2", "kind": "Organization",
    "id": "0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10",
    "metadata": {
        "self": "https://tributary.example/org/v2/organizations/0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10",
        "resource_name": "crn://confluent.cloud/organization=0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10",
        "created_at": "2025-01-01T12:00:00.000000Z", "updated_at": "2025-01-01T12:00:00.000000Z"
    },
    "display_name": "acme", "jit_enabled": false
}))]
pub struct Organization {
    #[schema(inline)]
    pub api_version: OrgV2,
    #[schema(inline)]
    pub kind: OrganizationKind,
    /// The organization's id (a UUID).
    pub id: String,
    pub metadata: ObjectMeta,
    /// 1 to 31 characters, none of `<>#%'*^\`{|}~"`.
    pub display_name: String,
    /// Always false (no just-in-time provisioning).
    pub jit_enabled: bool,
}

/// A page of organizations: the caller's own (the operator's administrators: all).
#[derive(Serialize, ToSchema)]
pub struct OrganizationList {
    #[schema(inline)]
    pub api_version: OrgV2,
    #[schema(inline)]
    pub kind: OrganizationListKind,
    pub metadata: ListMeta,
    pub data: Vec<Organization>,
}

/// Onboards a tenant.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"display_name": "acme", "admin_display_name": "acme-admin"}))]
pub struct OrganizationCreate {
    /// 1 to 31 characters, none of `<>#%'*^\`{|}~"`.
    pub display_name: String,
    /// Display name of the first OrganizationAdmin service account (default: `<display_name>-admin`).
    pub admin_display_name: Option<String>,
}

/// A new organization with its first administrator.
#[derive(Serialize, ToSchema)]
pub struct OrganizationOnboarded {
    #[serde(flatten)]
    pub organization: Organization,
    pub bootstrap: OrganizationBootstrap,
}

/// The first OrganizationAdmin of a new organization: its service account,
/// role binding and cloud API key. The key's `spec.secret` is shown here
/// only, never again.
#[derive(Serialize, ToSchema)]
pub struct OrganizationBootstrap {
    pub service_account: ServiceAccount,
    pub role_binding: RoleBinding,
    pub api_key: ApiKeyCreated,
}

/// Renames an organization.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"display_name": "acme-corp"}))]
pub struct OrganizationUpdate {
    /// 1 to 31 characters, none of `<>#%'*^\`{|}~"`.
    pub display_name: String,
}

/// Stream Governance settings (fixed; accepted for compatibility).
#[derive(Serialize, ToSchema)]
pub struct StreamGovernanceConfig {
    /// Always `ESSENTIALS`.
    pub package: String,
}

/// An environment: a folder of Kafka clusters and their connectors.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "api_version": "org/v2", "kind": "Environment", "id": "env-a1b2c3",
    "metadata": {
        "self": "https://tributary.example/org/v2/environments/env-a1b2c3",
        "resource_name": "crn://confluent.cloud/organization=0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10/environment=env-a1b2c3",
        "created_at": "2025-01-01T12:00:00.000000Z", "updated_at": "2025-01-01T12:00:00.000000Z"
    },
    "display_name": "production", "stream_governance_config": {"package": "ESSENTIALS"}
}))]
pub struct Environment {
    #[schema(inline)]
    pub api_version: OrgV2,
    #[schema(inline)]
    pub kind: EnvironmentKind,
    /// `env-…`
    pub id: String,
    pub metadata: ObjectMeta,
    pub display_name: String,
    pub stream_governance_config: StreamGovernanceConfig,
}

/// A page of the environments the caller is bound to (at, above or below).
#[derive(Serialize, ToSchema)]
pub struct EnvironmentList {
    #[schema(inline)]
    pub api_version: OrgV2,
    #[schema(inline)]
    pub kind: EnvironmentListKind,
    pub metadata: ListMeta,
    pub data: Vec<Environment>,
}

/// Creates or renames an environment.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"display_name": "production"}))]
pub struct EnvironmentRequest {
    /// 1 to 64 characters without control characters.
    pub display_name: String,
    /// Accepted for compatibility with Confluent clients and ignored.
    #[schema(value_type = Option<Object>)]
    pub stream_governance_config: Option<serde_json::Value>,
}
