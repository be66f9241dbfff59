//! Resource ids in Confluent Cloud's style: a prefix and random lower-case
//! alphanumerics (`env-x1y2z3`, `lkc-…`, `lcc-…`, `sa-…`).

use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;

fn random_lower(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| {
            let c = rng.sample(Alphanumeric) as char;
            c.to_ascii_lowercase()
        })
        .collect()
}

pub fn environment() -> String {
    format!("env-{}", random_lower(6))
}
pub fn cluster() -> String {
    format!("lkc-{}", random_lower(6))
}
pub fn connector() -> String {
    format!("lcc-{}", random_lower(6))
}
pub fn service_account() -> String {
    format!("sa-{}", random_lower(6))
}
pub fn role_binding() -> String {
    format!("rb-{}", random_lower(6))
}
pub fn organization() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// API key id: 16 upper-case alphanumerics, as Confluent's.
pub fn api_key() -> String {
    Alphanumeric
        .sample_string(&mut rand::thread_rng(), 16)
        .to_ascii_uppercase()
}

/// API key secret: 64 alphanumerics.
pub fn api_secret() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 64)
}
