//! Connector secrets at rest: password-typed config values are sealed with
//! the deployment's key before they are stored and opened only for the
//! worker that runs the task.

use tributary_data_plane::connectors::{self as plugins, config::password_keys};

use crate::secrets::SecretBox;
use crate::store::connectors::ConfigMap;

/// Encrypts the password-typed values for storage. A secret that did not
/// change keeps its stored ciphertext, so an unchanged config stays
/// byte-identical (no new generation, no task restart).
pub fn seal_secrets(config: &mut ConfigMap, stored: Option<&ConfigMap>, secrets: &SecretBox) {
    let class = config.get("connector.class").cloned().unwrap_or_default();
    let secret_keys = plugins::find(&class)
        .map(|p| password_keys(&p.config_defs()))
        .unwrap_or_else(|| password_keys(&[]));
    for (k, v) in config.iter_mut() {
        if !secret_keys.contains(&k.as_str()) {
            continue;
        }
        let old = stored.and_then(|s| s.get(k));
        match old {
            // Restored from the stored config (the client echoed the mask).
            Some(old) if old == v && SecretBox::is_sealed(old) => {}
            Some(old)
                if SecretBox::is_sealed(old)
                    && secrets.decrypt(old).ok().as_deref() == Some(v.as_str()) =>
            {
                *v = old.clone();
            }
            _ => *v = secrets.encrypt(v),
        }
    }
}

/// The config with stored secrets opened, for the worker that runs it.
pub fn open_secrets(config: &mut ConfigMap, secrets: &SecretBox) {
    for v in config.values_mut() {
        if SecretBox::is_sealed(v) {
            match secrets.decrypt(v) {
                Ok(plain) => *v = plain,
                // Never the value itself in logs.
                Err(e) => tracing::error!(error = %e, "a stored connector secret does not open"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn secrets_are_sealed_reused_when_unchanged_and_opened_for_workers() {
        let b = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let mut first = cfg(&[
            ("connector.class", "DatagenSource"),
            ("kafka.api.secret", "s3cret"),
            ("kafka.topic", "t"),
        ]);
        seal_secrets(&mut first, None, &b);
        assert!(SecretBox::is_sealed(&first["kafka.api.secret"]));
        assert_eq!(first["kafka.topic"], "t");

        let mut again = cfg(&[
            ("connector.class", "DatagenSource"),
            ("kafka.api.secret", "s3cret"),
            ("kafka.topic", "t"),
        ]);
        seal_secrets(&mut again, Some(&first), &b);
        assert_eq!(again, first, "an unchanged secret keeps its ciphertext");

        let mut changed = cfg(&[
            ("connector.class", "DatagenSource"),
            ("kafka.api.secret", "other"),
            ("kafka.topic", "t"),
        ]);
        seal_secrets(&mut changed, Some(&first), &b);
        assert_ne!(changed["kafka.api.secret"], first["kafka.api.secret"]);

        open_secrets(&mut changed, &b);
        assert_eq!(changed["kafka.api.secret"], "other");
    }
}
