//! Connecting to NATS, shared by source and sink.

use std::time::Duration;

use async_nats::ServerAddr;

use super::settings::{Auth, Connection};

impl Connection {
    pub async fn connect(&self, name: &str) -> Result<async_nats::Client, String> {
        let mut o = async_nats::ConnectOptions::new()
            .name(name)
            .connection_timeout(Duration::from_secs(10))
            .require_tls(self.tls);
        o = match &self.auth {
            Auth::None => o,
            Auth::UserPassword(u, p) => o.user_and_password(u.clone(), p.expose().to_string()),
            Auth::Token(t) => o.token(t.expose().to_string()),
        };
        let servers = self
            .servers
            .iter()
            .map(|url| ServerAddr::from_url(url.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("NATS server URL: {e}"))?;
        o.connect(servers)
            .await
            .map_err(|e| format!("cannot connect to NATS at {}: {e}", self.describe()))
    }
}
