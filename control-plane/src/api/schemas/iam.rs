//! `/iam/v2`: service accounts, users, API keys, role bindings; and the
//! console sign-in.

use serde::Serialize;
use utoipa::ToSchema;

use super::{constant, ListMeta, ObjectMeta};

constant!(
    /// `iam/v2`
    IamV2 = "iam/v2"
);
constant!(
    /// `ServiceAccount`
    ServiceAccountKind = "ServiceAccount"
);
constant!(
    /// `ServiceAccountList`
    ServiceAccountListKind = "ServiceAccountList"
);
constant!(
    /// `User`
    UserKind = "User"
);
constant!(
    /// `UserList`
    UserListKind = "UserList"
);
constant!(
    /// `ApiKey`
    ApiKeyKind = "ApiKey"
);
constant!(
    /// `ApiKeyList`
    ApiKeyListKind = "ApiKeyList"
);
constant!(
    /// `RoleBinding`
    RoleBindingKind = "RoleBinding"
);
constant!(
    /// `RoleBindingList`
    RoleBindingListKind = "RoleBindingList"
);

/// A service account: an identity for applications, acting with its role bindings.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "api_version": "iam/v2", "kind": "ServiceAccount", "id": "sa-k3m9p2",
    "metadata": {
        "self": "https://tributary.example/iam/v2/service-accounts/sa-k3m9p2",
        "resource_name": "crn://confluent.cloud/organization=0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10/service-account=sa-k3m9p2",
        "created_at": "2025-01-01T12:00:00.000000Z", "updated_at": "2025-01-01T12:00:00.000000Z"
    },
    "display_name": "orders-pipeline", "description": "Runs the orders connectors"
}))]
pub struct ServiceAccount {
    #[schema(inline)]
    pub api_version: IamV2,
    #[schema(inline)]
    pub kind: ServiceAccountKind,
    /// `sa-…`
    pub id: String,
    pub metadata: ObjectMeta,
    pub display_name: String,
    pub description: String,
}

/// A page of service accounts (OrganizationAdmins: all of the organization's; others: their own).
#[derive(Serialize, ToSchema)]
pub struct ServiceAccountList {
    #[schema(inline)]
    pub api_version: IamV2,
    #[schema(inline)]
    pub kind: ServiceAccountListKind,
    pub metadata: ListMeta,
    pub data: Vec<ServiceAccount>,
}

/// Creates (`display_name` required) or updates a service account.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"display_name": "orders-pipeline", "description": "Runs the orders connectors"}))]
pub struct ServiceAccountRequest {
    /// 1 to 64 characters, unique in the organization.
    pub display_name: Option<String>,
    /// At most 512 characters.
    pub description: Option<String>,
}

/// A person who signs in to the console (with a password or single sign-on).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "api_version": "iam/v2", "kind": "User", "id": "u-q7w8e9",
    "metadata": {
        "self": "https://tributary.example/iam/v2/users/u-q7w8e9",
        "resource_name": "crn://confluent.cloud/organization=0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10/user=u-q7w8e9",
        "created_at": "2025-01-01T12:00:00.000000Z", "updated_at": "2025-01-01T12:00:00.000000Z"
    },
    "email": "ops@acme.example", "full_name": "Ops", "auth_type": "AUTH_TYPE_LOCAL"
}))]
pub struct User {
    #[schema(inline)]
    pub api_version: IamV2,
    #[schema(inline)]
    pub kind: UserKind,
    /// `u-…`
    pub id: String,
    pub metadata: ObjectMeta,
    pub email: String,
    pub full_name: String,
    /// `AUTH_TYPE_LOCAL` (has a password) or `AUTH_TYPE_SSO`.
    pub auth_type: String,
}

/// A page of users (OrganizationAdmins: all of the organization's; others: themselves).
#[derive(Serialize, ToSchema)]
pub struct UserList {
    #[schema(inline)]
    pub api_version: IamV2,
    #[schema(inline)]
    pub kind: UserListKind,
    pub metadata: ListMeta,
    pub data: Vec<User>,
}

/// Creates a user.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"email": "ops@acme.example", "full_name": "Ops", "password": "correct horse battery"}))]
pub struct UserCreate {
    /// Unique across all organizations.
    pub email: String,
    /// At most 128 characters.
    pub full_name: Option<String>,
    /// 12 to 1024 characters, stored as an argon2 hash. Omit for a user who
    /// signs in only through single sign-on.
    #[schema(write_only)]
    pub password: Option<String>,
}

/// Changes a user's name or password (users may change their own).
#[derive(Serialize, ToSchema)]
pub struct UserUpdate {
    pub full_name: Option<String>,
    /// 12 to 1024 characters.
    #[schema(write_only)]
    pub password: Option<String>,
}

/// An API key. A key without `spec.resource` is a *cloud* key acting for its
/// owner across the organization; a key whose `spec.resource` is a cluster
/// is a *resource* key that reaches only that cluster. The secret is never
/// listed or read back.
#[derive(Serialize, ToSchema)]
pub struct ApiKey {
    #[schema(inline)]
    pub api_version: IamV2,
    #[schema(inline)]
    pub kind: ApiKeyKind,
    /// The key id: the user name of HTTP Basic authentication.
    pub id: String,
    pub metadata: ObjectMeta,
    pub spec: ApiKeySpec,
}

/// An API key as created: the only answer that carries its secret.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "api_version": "iam/v2", "kind": "ApiKey", "id": "ABCDEFGHIJKLMNOP",
    "metadata": {
        "self": "https://tributary.example/iam/v2/api-keys/ABCDEFGHIJKLMNOP",
        "resource_name": "crn://confluent.cloud/organization=0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10/service-account=sa-k3m9p2/api-key=ABCDEFGHIJKLMNOP",
        "created_at": "2025-01-01T12:00:00.000000Z", "updated_at": "2025-01-01T12:00:00.000000Z"
    },
    "spec": {
        "display_name": "ci", "description": "",
        "owner": {"id": "sa-k3m9p2", "api_version": "iam/v2", "kind": "ServiceAccount",
                  "related": "https://tributary.example/iam/v2/service-accounts/sa-k3m9p2",
                  "resource_name": "crn://confluent.cloud/organization=0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10/service-account=sa-k3m9p2"},
        "resource": null,
        "secret": "pQ3v8sL1x9Zr0bN6tY2wK5mH7cJ4fD1gA8eR3uI6oP0lS9qW2zX5vB7nM4kT1yU3"
    }
}))]
pub struct ApiKeyCreated {
    #[schema(inline)]
    pub api_version: IamV2,
    #[schema(inline)]
    pub kind: ApiKeyKind,
    pub id: String,
    pub metadata: ObjectMeta,
    pub spec: ApiKeyCreatedSpec,
}

/// What an API key is.
#[derive(Serialize, ToSchema)]
pub struct ApiKeySpec {
    pub display_name: String,
    pub description: String,
    pub owner: ApiKeyOwner,
    /// The cluster a resource key is limited to; null for a cloud key.
    pub resource: Option<ApiKeyResource>,
}

/// [`ApiKeySpec`] with the secret.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyCreatedSpec {
    pub display_name: String,
    pub description: String,
    pub owner: ApiKeyOwner,
    /// The cluster a resource key is limited to; null for a cloud key.
    pub resource: Option<ApiKeyResource>,
    /// The secret: the password of HTTP Basic authentication. Shown in this
    /// answer only; stored as an argon2 hash.
    pub secret: String,
}

/// The principal an API key acts for.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyOwner {
    /// `sa-…` or `u-…`
    pub id: String,
    /// `iam/v2`
    pub api_version: String,
    /// `ServiceAccount` or `User`
    pub kind: String,
    pub related: String,
    pub resource_name: String,
}

/// The cluster a resource key reaches.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyResource {
    /// `lkc-…`
    pub id: String,
    /// The cluster's environment, `env-…`.
    pub environment: String,
    /// `cmk/v2`
    pub api_version: String,
    /// `Cluster`
    pub kind: String,
    pub related: String,
    pub resource_name: String,
}

/// A page of API keys, never with secrets.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    #[schema(inline)]
    pub api_version: IamV2,
    #[schema(inline)]
    pub kind: ApiKeyListKind,
    pub metadata: ListMeta,
    pub data: Vec<ApiKey>,
}

/// Creates an API key.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"spec": {
    "display_name": "orders cluster only",
    "owner": {"id": "sa-k3m9p2"},
    "resource": {"id": "lkc-x1y2z3", "environment": "env-a1b2c3"}
}}))]
pub struct ApiKeyCreate {
    pub spec: ApiKeyCreateSpec,
}

/// The fields of a new API key.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyCreateSpec {
    /// At most 512 characters.
    pub display_name: Option<String>,
    /// At most 512 characters.
    pub description: Option<String>,
    /// The principal the key acts for. Callers other than OrganizationAdmins
    /// may create keys only for themselves.
    pub owner: IdRef,
    /// A cluster, for a resource key; omit for a cloud key.
    pub resource: Option<ClusterRef>,
}

/// An object named by id.
#[derive(Serialize, ToSchema)]
pub struct IdRef {
    pub id: String,
}

/// A cluster named by id and, optionally, environment.
#[derive(Serialize, ToSchema)]
pub struct ClusterRef {
    /// `lkc-…`
    pub id: String,
    /// `env-…`
    pub environment: Option<String>,
}

/// Changes an API key's name or description.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"spec": {"description": "rotated 2025-01"}}))]
pub struct ApiKeyUpdate {
    pub spec: ApiKeyUpdateSpec,
}

/// The changeable fields of an API key.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyUpdateSpec {
    pub display_name: Option<String>,
    pub description: Option<String>,
}

/// A role granted to a principal on the resources a CRN pattern matches.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "api_version": "iam/v2", "kind": "RoleBinding", "id": "rb-d4f5g6",
    "metadata": {
        "self": "https://tributary.example/iam/v2/role-bindings/rb-d4f5g6",
        "resource_name": "crn://confluent.cloud/organization=0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10/role-binding=rb-d4f5g6",
        "created_at": "2025-01-01T12:00:00.000000Z"
    },
    "principal": "User:sa-k3m9p2", "role_name": "ConnectManager",
    "crn_pattern": "crn://confluent.cloud/organization=0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10/environment=env-a1b2c3/cloud-cluster=lkc-x1y2z3"
}))]
pub struct RoleBinding {
    #[schema(inline)]
    pub api_version: IamV2,
    #[schema(inline)]
    pub kind: RoleBindingKind,
    /// `rb-…`
    pub id: String,
    pub metadata: ObjectMeta,
    /// `User:<sa-… or u-…>`
    pub principal: String,
    /// OrganizationAdmin, EnvironmentAdmin, CloudClusterAdmin,
    /// ConnectManager, Operator or DeveloperRead.
    pub role_name: String,
    /// `crn://confluent.cloud/organization=<org>[/environment=<env>[/cloud-cluster=<lkc>[/connector=<name>]]]`,
    /// the last name optionally ending in `*`.
    pub crn_pattern: String,
}

/// A page of role bindings (OrganizationAdmins: all; others: their own).
#[derive(Serialize, ToSchema)]
pub struct RoleBindingList {
    #[schema(inline)]
    pub api_version: IamV2,
    #[schema(inline)]
    pub kind: RoleBindingListKind,
    pub metadata: ListMeta,
    pub data: Vec<RoleBinding>,
}

/// Grants a role.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "principal": "User:sa-k3m9p2", "role_name": "ConnectManager",
    "crn_pattern": "crn://confluent.cloud/organization=0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10/environment=env-a1b2c3/cloud-cluster=lkc-x1y2z3"
}))]
pub struct RoleBindingCreate {
    /// `User:<sa-… or u-…>` of this organization.
    pub principal: String,
    pub role_name: String,
    /// A CRN pattern in the caller's organization; named environments and
    /// clusters must exist.
    pub crn_pattern: String,
}

/// Console sign-in.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"email": "ops@acme.example", "password": "correct horse battery"}))]
pub struct LoginRequest {
    pub email: String,
    #[schema(write_only)]
    pub password: String,
}

/// A Bearer token for the API (HS256, signed by the control plane).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJIUzI1NiJ9.e30.sig", "token_type": "Bearer", "expires_in": 3600}))]
pub struct LoginResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}
