//! The running Redis sink task: each `put` becomes one pipeline of commands
//! (in record order, so the last record of a key wins), sent over one
//! multiplexed connection. Writes overwrite (`SET`, or `DEL` + `HSET` for a
//! whole hash), so a redelivered batch leaves the same state.

use async_trait::async_trait;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};
use serde_json::Value;

use super::settings::{DataType, RedisSettings};
use crate::connectors::{Config, ErrantRecord, SinkTask, TaskError};
use crate::record::Record;

/// Server error codes that say "not now" rather than "never".
const PASSING_ERRORS: &[&str] = &[
    "OOM",
    "LOADING",
    "BUSY",
    "TRYAGAIN",
    "MASTERDOWN",
    "READONLY",
    "CLUSTERDOWN",
];

pub struct RedisSinkTask {
    settings: RedisSettings,
    connection: Option<MultiplexedConnection>,
    errant: Vec<ErrantRecord>,
}

impl RedisSinkTask {
    /// Builds the task without connecting (see [`SinkTask::open`]).
    pub fn new(config: &Config) -> Result<RedisSinkTask, TaskError> {
        let settings = RedisSettings::parse(config)
            .map_err(|e| TaskError::Fatal(format!("invalid RedisSink config: {e}")))?;
        Ok(RedisSinkTask {
            settings,
            connection: None,
            errant: Vec::new(),
        })
    }

    fn address(&self) -> String {
        format!("{}:{}", self.settings.host, self.settings.port)
    }

    async fn connect(&self) -> redis::RedisResult<MultiplexedConnection> {
        let s = &self.settings;
        let addr = if s.tls {
            ConnectionAddr::TcpTls {
                host: s.host.clone(),
                port: s.port,
                insecure: false,
                tls_params: None,
            }
        } else {
            ConnectionAddr::Tcp(s.host.clone(), s.port)
        };
        let mut redis = RedisConnectionInfo::default().set_db(s.database);
        if let Some(user) = &s.username {
            redis = redis.set_username(user);
        }
        if !s.password.is_empty() {
            redis = redis.set_password(s.password.expose());
        }
        let info = addr.into_connection_info()?.set_redis_settings(redis);
        let client = redis::Client::open(info)?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(s.timeout))
            .set_response_timeout(Some(s.timeout));
        client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    fn key(&self, record: &Record) -> Option<String> {
        let key = record.key.as_ref().filter(|k| !k.is_null())?;
        let mut out = self.settings.key_prefix.replace("${topic}", &record.topic);
        out.push_str(&text(key));
        Some(out)
    }

    /// The pipeline for `records`, and for each of its commands the index
    /// of the record it writes.
    fn pipeline(&mut self, records: &[Record]) -> (redis::Pipeline, Vec<usize>) {
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        let mut owners = Vec::new();
        for (index, record) in records.iter().enumerate() {
            let Some(key) = self.key(record) else {
                self.errant.push(ErrantRecord {
                    index,
                    reason: "the record has no key; the Redis sink needs one".into(),
                });
                continue;
            };
            if record.is_tombstone() {
                pipe.del(&key);
                owners.push(index);
                continue;
            }
            let value = record.value.as_ref().unwrap_or(&Value::Null);
            match self.settings.data_type {
                DataType::String => {
                    pipe.set(&key, text(value));
                    owners.push(index);
                }
                DataType::Hash => {
                    let Some(fields) = value.as_object() else {
                        self.errant.push(ErrantRecord {
                            index,
                            reason: format!(
                                "redis.type=HASH needs a struct value; this record's value is {}",
                                kind(value)
                            ),
                        });
                        continue;
                    };
                    // The record is the whole hash: fields it lacks go.
                    pipe.del(&key);
                    owners.push(index);
                    let items: Vec<(&str, String)> =
                        fields.iter().map(|(f, v)| (f.as_str(), text(v))).collect();
                    if !items.is_empty() {
                        pipe.hset_multiple(&key, &items);
                        owners.push(index);
                    }
                }
            }
        }
        (pipe, owners)
    }

    async fn write(&mut self, records: &[Record]) -> Result<(), TaskError> {
        let (pipe, owners) = self.pipeline(records);
        if owners.is_empty() {
            return Ok(());
        }
        let connection = match &mut self.connection {
            Some(c) => c,
            None => {
                let c = self.connect().await.map_err(|e| {
                    TaskError::Retriable(format!(
                        "cannot reconnect to Redis at {}: {e}",
                        self.address()
                    ))
                })?;
                self.connection.insert(c)
            }
        };
        let results: Vec<redis::RedisResult<redis::Value>> =
            match pipe.query_async(connection).await {
                Ok(results) => results,
                Err(e) => {
                    // The connection may be broken: a new one next time.
                    self.connection = None;
                    let message = format!("writing to Redis at {} failed: {e}", self.address());
                    return Err(if e.is_unrecoverable_error() && !e.is_io_error() {
                        TaskError::Fatal(message)
                    } else {
                        TaskError::Retriable(message)
                    });
                }
            };
        let mut refused: Vec<usize> = Vec::new();
        for (owner, result) in owners.iter().zip(results) {
            let Err(e) = result else { continue };
            if e.code().is_some_and(|c| PASSING_ERRORS.contains(&c)) {
                return Err(TaskError::Retriable(format!(
                    "Redis at {} refused a write for now: {e}",
                    self.address()
                )));
            }
            if !refused.contains(owner) {
                refused.push(*owner);
                self.errant.push(ErrantRecord {
                    index: *owner,
                    reason: format!("Redis refused the write: {e}"),
                });
            }
        }
        Ok(())
    }
}

/// A value as text: strings as they are, everything else as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a struct",
    }
}

#[async_trait]
impl SinkTask for RedisSinkTask {
    /// A wrong host or password will not fix itself: connection failures
    /// here fail the task, naming host:port.
    async fn open(&mut self) -> Result<(), TaskError> {
        let connection = self.connect().await.map_err(|e| {
            TaskError::Fatal(format!(
                "cannot connect to Redis at {} (database {}): {e}",
                self.address(),
                self.settings.database
            ))
        })?;
        self.connection = Some(connection);
        tracing::info!(address = %self.address(), database = self.settings.database, "connected to Redis");
        Ok(())
    }

    async fn put(&mut self, records: Vec<Record>) -> Result<(), TaskError> {
        self.errant.clear();
        let result = self.write(&records).await;
        if let Err(TaskError::Retriable(reason)) = &result {
            tracing::warn!(%reason, "writing a batch failed; it will be retried");
        }
        result
    }

    fn take_errant_records(&mut self) -> Vec<ErrantRecord> {
        std::mem::take(&mut self.errant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(pairs: &[(&str, &str)]) -> RedisSinkTask {
        let mut c: Config = [("topics", "t"), ("redis.hostname", "192.0.2.1")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        c.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        RedisSinkTask::new(&c).unwrap()
    }

    fn packed(pipe: &redis::Pipeline) -> String {
        String::from_utf8_lossy(&pipe.get_packed_pipeline()).replace("\r\n", " ")
    }

    #[test]
    fn strings_are_set_and_tombstones_deleted() {
        let mut t = task(&[("redis.key.prefix", "${topic}:")]);
        let records = vec![
            Record::new("orders", Some(json!(7)), Some(json!({"id": 7}))),
            Record::new("orders", Some(json!("k")), None),
            Record::new("orders", None, Some(json!("v"))),
        ];
        let (pipe, owners) = t.pipeline(&records);
        assert_eq!(owners, vec![0, 1]);
        let text = packed(&pipe);
        assert!(text.contains("SET $8 orders:7 $8 {\"id\":7}"), "{text}");
        assert!(text.contains("DEL $8 orders:k"), "{text}");
        let errant = t.take_errant_records();
        assert_eq!(errant.len(), 1);
        assert_eq!(errant[0].index, 2);
    }

    #[test]
    fn hashes_replace_the_whole_hash_and_need_structs() {
        let mut t = task(&[("redis.type", "HASH")]);
        let records = vec![
            Record::new(
                "t",
                Some(json!("u1")),
                Some(json!({"name": "Ann", "tags": [1]})),
            ),
            Record::new("t", Some(json!("u2")), Some(json!("flat"))),
        ];
        let (pipe, owners) = t.pipeline(&records);
        assert_eq!(owners, vec![0, 0]);
        let text = packed(&pipe);
        assert!(text.contains("DEL $2 u1"), "{text}");
        assert!(
            text.contains("HMSET $2 u1 $4 name $3 Ann $4 tags $3 [1]"),
            "{text}"
        );
        let errant = t.take_errant_records();
        assert_eq!(errant[0].index, 1);
        assert!(errant[0].reason.contains("a string"));
    }
}
