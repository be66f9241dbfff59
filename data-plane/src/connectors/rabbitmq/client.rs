//! Connecting to RabbitMQ: one AMQP 0.9.1 connection per task, and what
//! the client's errors mean for a task.

use std::time::Duration;

use lapin::protocol::{AMQPErrorKind, AMQPHardError, AMQPSoftError};
use lapin::types::ShortString;
use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo};
use lapin::{Connection, ConnectionProperties, ErrorKind};

use super::settings::Endpoint;
use crate::connectors::TaskError;

impl Endpoint {
    pub(super) fn uri(&self) -> AMQPUri {
        AMQPUri {
            scheme: if self.tls {
                AMQPScheme::AMQPS
            } else {
                AMQPScheme::AMQP
            },
            authority: AMQPAuthority {
                userinfo: AMQPUserInfo {
                    username: self.username.clone(),
                    password: self.password.clone(),
                },
                host: self.host.clone(),
                port: self.port,
            },
            vhost: self.virtual_host.clone(),
            query: AMQPQueryString {
                heartbeat: Some(self.heartbeat),
                connection_timeout: Some(self.connect_timeout.as_millis() as u64),
                ..AMQPQueryString::default()
            },
        }
    }

    /// Opens a connection named `name` (shown in the management UI).
    pub async fn connect(&self, name: &str) -> Result<Connection, TaskError> {
        let properties = ConnectionProperties::default().with_connection_name(name.into());
        // The TCP timeout is in the URI; the handshake gets the same bound.
        let connecting = Connection::connect_uri(self.uri(), properties);
        match tokio::time::timeout(self.connect_timeout + Duration::from_secs(10), connecting).await
        {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(task_error(
                &format!("cannot connect to RabbitMQ at {}", self.describe()),
                &e,
            )),
            Err(_) => Err(TaskError::Retriable(format!(
                "cannot connect to RabbitMQ at {}: no answer within {:?}",
                self.describe(),
                self.connect_timeout + Duration::from_secs(10)
            ))),
        }
    }
}

/// A lapin error as a task error: what only a config change can fix (a
/// missing queue or exchange, refused credentials or permissions, an
/// unknown virtual host) fails the task; the rest (network, a broker
/// restart) is retried.
pub fn task_error(context: &str, e: &lapin::Error) -> TaskError {
    let message = format!("{context}: {e}");
    let fatal = match e.kind() {
        ErrorKind::ProtocolError(amqp) => matches!(
            amqp.kind(),
            AMQPErrorKind::Soft(
                AMQPSoftError::NOTFOUND
                    | AMQPSoftError::ACCESSREFUSED
                    | AMQPSoftError::PRECONDITIONFAILED
                    | AMQPSoftError::RESOURCELOCKED
            ) | AMQPErrorKind::Hard(AMQPHardError::NOTALLOWED | AMQPHardError::INVALIDPATH)
        ),
        ErrorKind::AuthProviderError(_) => true,
        _ => false,
    };
    if fatal {
        TaskError::Fatal(message)
    } else {
        TaskError::Retriable(message)
    }
}

/// An AMQP short string from a value checked to fit (names from validated
/// settings); `None` when it does not.
pub fn short(s: &str) -> Option<ShortString> {
    ShortString::try_new(s).ok()
}
