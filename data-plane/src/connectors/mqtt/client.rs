//! The MQTT client options of a connection, shared by source and sink.

use std::sync::Arc;

use rumqttc::{MqttOptions, QoS, TlsConfiguration, Transport};

use super::settings::{Connection, Qos};

impl Connection {
    /// The client options: transport (TLS with the ring provider and the
    /// webpki roots), credentials, session, manual acknowledgements.
    pub fn options(&self) -> Result<MqttOptions, String> {
        let mut o = MqttOptions::new(&self.client_id, &self.broker.host, self.broker.port);
        o.set_keep_alive(self.keepalive)
            .set_clean_session(self.clean_session)
            .set_manual_acks(true)
            .set_max_packet_size(16 * 1024 * 1024, 16 * 1024 * 1024);
        if let Some(user) = &self.username {
            o.set_credentials(user, &self.password.0);
        }
        if self.broker.tls {
            o.set_transport(Transport::Tls(TlsConfiguration::Rustls(Arc::new(
                tls_config()?,
            ))));
        }
        Ok(o)
    }
}

fn tls_config() -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS setup failed: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

impl From<Qos> for QoS {
    fn from(q: Qos) -> QoS {
        match q {
            Qos::AtMostOnce => QoS::AtMostOnce,
            Qos::AtLeastOnce => QoS::AtLeastOnce,
            Qos::ExactlyOnce => QoS::ExactlyOnce,
        }
    }
}
