//! Kafka Connect's error handling around a connector's converters and
//! transforms, one operator for the source and the sink path (upstream's
//! `RetryWithToleranceOperator`):
//!
//! * the `errors.*` keys every connector accepts ([`defs`], [`ErrorSettings`]);
//! * [`RetryWithTolerance::execute`]: an operation of a stage that fails for
//!   a passing reason (a retriable error: the Schema Registry unreachable or
//!   answering 5xx/429) is tried again after 300 ms, then 600, 1200, …
//!   capped at `errors.retry.delay.max.ms` (a random delay below the cap
//!   once the doubling passes it), for at most `errors.retry.timeout` ms
//!   (0: never retried, -1: retried until it succeeds). A stop or pause
//!   ends the wait at once;
//! * a failure that stays (retries exhausted, or not retriable, like a
//!   malformed payload) is a [`RecordError`]: under `errors.tolerance=none`
//!   the caller fails the task with it, under `all` it skips the record,
//!   logged per `errors.log.*` ([`RetryWithTolerance::log_skipped`]); sinks
//!   also send it to their dead letter queue (`sink::dlq`).
//!
//! The retries of a sink task's `put`/`flush` (`max.retries`,
//! `retry.backoff.ms`) are a separate loop, as Kafka Connect redelivers a
//! batch `put` refused with a `RetriableException` by itself.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;

use super::control::Control;
use crate::connectors::config::{flag, non_empty};
use crate::connectors::{Config, ConfigDef, ConfigType, FieldError, Importance};
use crate::converters::ConvertError;
use crate::transforms::TransformError;

pub const ERRORS_TOLERANCE: &str = "errors.tolerance";
pub const ERRORS_RETRY_TIMEOUT: &str = "errors.retry.timeout";
pub const ERRORS_RETRY_DELAY_MAX_MS: &str = "errors.retry.delay.max.ms";
pub const ERRORS_LOG_ENABLE: &str = "errors.log.enable";
pub const ERRORS_LOG_INCLUDE_MESSAGES: &str = "errors.log.include.messages";

/// The first wait between retries (upstream's `RETRIES_DELAY_MIN_MS`).
pub const RETRIES_DELAY_MIN: Duration = Duration::from_millis(300);
const DEFAULT_RETRY_DELAY_MAX_MS: u64 = 60_000;
/// Most bytes of a key or value quoted in a log line.
const LOGGED_BYTES: usize = 1024;

pub const RETRIABLE_EXCEPTION: &str = "org.apache.kafka.connect.errors.RetriableException";
pub const DATA_EXCEPTION: &str = "org.apache.kafka.connect.errors.DataException";

/// The error-handling keys of every connector, sources and sinks alike
/// (upstream's `ConnectorConfig`); sinks add their dead letter queue.
pub fn defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const ERRORS: &str = "Error handling";
    vec![
        ConfigDef::new(ERRORS_TOLERANCE, String)
            .default("none")
            .allowed(&["none", "all"])
            .group(ERRORS)
            .doc("Errors tolerance", "none: a record that cannot be converted or transformed fails the task. all: such records are skipped, logged per errors.log.enable (sinks also send them to the dead letter queue, if set)."),
        ConfigDef::new(ERRORS_RETRY_TIMEOUT, Long)
            .default("0")
            .min(-1)
            .group(ERRORS)
            .doc("Retry timeout for errors", "Most milliseconds a conversion or transform that failed for a passing reason (e.g. the Schema Registry unreachable) is retried, with exponential backoff, before errors.tolerance decides. 0: no retries; -1: retry forever."),
        ConfigDef::new(ERRORS_RETRY_DELAY_MAX_MS, Long)
            .default("60000")
            .min(1)
            .importance(Importance::Low)
            .group(ERRORS)
            .doc("Maximum delay between retries for errors", "Longest wait between two retries; waits start at 300 ms and double. Once doubling passes this limit, each wait is a random time below it, so tasks do not retry in lockstep."),
        ConfigDef::new(ERRORS_LOG_ENABLE, Boolean)
            .default("false")
            .group(ERRORS)
            .doc("Log errors", "Log each failed operation and the skipped record's coordinates (sinks: topic, partition, offset; sources: source partition and offset)."),
        ConfigDef::new(ERRORS_LOG_INCLUDE_MESSAGES, Boolean)
            .default("false")
            .importance(Importance::Low)
            .group(ERRORS)
            .doc("Log error messages", "Also log the skipped record's content (key, value, headers)."),
    ]
}

/// Checks of the error-handling keys; each error names its key.
pub fn validate(config: &Config) -> Vec<FieldError> {
    ErrorSettings::parse(config).err().into_iter().collect()
}

/// The error-handling settings a task runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorSettings {
    /// `errors.tolerance=all`.
    pub tolerate: bool,
    /// `errors.retry.timeout`; `None` retries forever (-1).
    pub retry_timeout: Option<Duration>,
    pub retry_delay_max: Duration,
    pub log_errors: bool,
    pub log_messages: bool,
}

impl Default for ErrorSettings {
    fn default() -> ErrorSettings {
        ErrorSettings {
            tolerate: false,
            retry_timeout: Some(Duration::ZERO),
            retry_delay_max: Duration::from_millis(DEFAULT_RETRY_DELAY_MAX_MS),
            log_errors: false,
            log_messages: false,
        }
    }
}

impl ErrorSettings {
    pub fn parse(config: &Config) -> Result<ErrorSettings, FieldError> {
        let tolerate = match non_empty(config, ERRORS_TOLERANCE) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("none") => false,
            Some(v) if v.eq_ignore_ascii_case("all") => true,
            Some(v) => {
                return Err(FieldError::new(
                    ERRORS_TOLERANCE,
                    format!("Invalid value {v} for configuration {ERRORS_TOLERANCE}: must be one of none, all"),
                ))
            }
        };
        let retry_timeout = match integer(config, ERRORS_RETRY_TIMEOUT, 0, -1)? {
            -1 => None,
            ms => Some(Duration::from_millis(ms.unsigned_abs())),
        };
        let retry_delay_max = Duration::from_millis(
            integer(
                config,
                ERRORS_RETRY_DELAY_MAX_MS,
                DEFAULT_RETRY_DELAY_MAX_MS as i64,
                1,
            )?
            .unsigned_abs(),
        );
        Ok(ErrorSettings {
            tolerate,
            retry_timeout,
            retry_delay_max,
            log_errors: flag(config, ERRORS_LOG_ENABLE, false)?,
            log_messages: flag(config, ERRORS_LOG_INCLUDE_MESSAGES, false)?,
        })
    }
}

/// An integer of at least `min`, or `default` when absent.
fn integer(config: &Config, key: &str, default: i64, min: i64) -> Result<i64, FieldError> {
    let Some(v) = non_empty(config, key) else {
        return Ok(default);
    };
    match v.parse::<i64>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(FieldError::new(
            key,
            format!("Invalid value {v} for configuration {key}: must be an integer ≥ {min}"),
        )),
    }
}

/// Kafka Connect's `Stage` names, as reported in `__connect.errors.stage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    KeyConverter,
    ValueConverter,
    Transformation,
    /// A sink task's `put` refused the record for good (an errant record).
    TaskPut,
}

impl Stage {
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
            Stage::TaskPut => "TASK_PUT",
        }
    }
}

/// A record that failed a stage for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub stage: Stage,
    /// What was executing (`__connect.errors.class.name`).
    pub class_name: String,
    /// The error's kind (`__connect.errors.exception.class.name`).
    pub exception: &'static str,
    pub message: String,
    /// How often the operation was retried before giving up.
    pub retries: u32,
}

impl RecordError {
    fn retriable(&self) -> bool {
        self.exception == RETRIABLE_EXCEPTION
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) failed: {}",
            self.stage.as_str(),
            self.class_name,
            self.message
        )?;
        // Say why a passing failure was not ridden out.
        match self.retries {
            0 if self.retriable() => {
                write!(f, " (retriable, but errors.retry.timeout allowed no retry)")
            }
            0 => Ok(()),
            n => write!(
                f,
                " (still failing after {n} retries: errors.retry.timeout exhausted)"
            ),
        }
    }
}

/// What a stage's operation can fail with.
pub trait StageFailure: fmt::Display {
    /// Worth trying again: the cause may pass (a service unreachable), the
    /// record is not at fault.
    fn is_retriable(&self) -> bool {
        false
    }
}

impl StageFailure for ConvertError {
    fn is_retriable(&self) -> bool {
        ConvertError::is_retriable(self)
    }
}

/// Transforms compute on the record alone: their failures never pass.
impl StageFailure for TransformError {}

/// Why a stage did not produce its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// Failed for good: tolerated (skip) or fatal per `errors.tolerance`.
    Failed(RecordError),
    /// A stop or pause ended a retry wait: the record was not processed
    /// and must be taken up again after a resume (or redelivered after a
    /// restart, since its offset is not committed).
    Interrupted,
}

/// The operator of one task (see the module docs).
#[derive(Debug)]
pub struct RetryWithTolerance {
    settings: ErrorSettings,
    retries: AtomicU64,
    failures: AtomicU64,
}

impl RetryWithTolerance {
    pub fn new(settings: ErrorSettings) -> RetryWithTolerance {
        RetryWithTolerance {
            settings,
            retries: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// `errors.tolerance=all`: failed records are skipped, not fatal.
    pub fn tolerates(&self) -> bool {
        self.settings.tolerate
    }

    /// Retries made so far by this task.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Records that failed a stage for good so far.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Runs `operation` (one stage of one record, executed by
    /// `class_name`), retrying retriable failures with backoff within
    /// `errors.retry.timeout`. `control` ends a retry wait on stop or pause.
    pub async fn execute<T, E, F, Fut>(
        &self,
        stage: Stage,
        class_name: &str,
        control: &mut watch::Receiver<Control>,
        mut operation: F,
    ) -> Result<T, Halt>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: StageFailure,
    {
        let started = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let error = match operation().await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            if !error.is_retriable() || !self.may_retry(started) {
                return Err(Halt::Failed(self.failed(
                    stage,
                    class_name,
                    &error,
                    attempt - 1,
                )));
            }
            let delay = self.backoff(attempt, started);
            tracing::warn!(
                stage = stage.as_str(), class = class_name, attempt, %error,
                "retriable failure; retrying in {delay:?} (errors.retry.timeout)"
            );
            if !wait(delay, control).await {
                tracing::info!(
                    stage = stage.as_str(),
                    "retry wait ended by a stop or pause"
                );
                return Err(Halt::Interrupted);
            }
            self.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The [`RecordError`] for a failure of `stage` after `retries` retries.
    pub fn failed(
        &self,
        stage: Stage,
        class_name: &str,
        error: &dyn StageFailure,
        retries: u32,
    ) -> RecordError {
        self.failures.fetch_add(1, Ordering::Relaxed);
        RecordError {
            stage,
            class_name: class_name.to_string(),
            exception: if error.is_retriable() {
                RETRIABLE_EXCEPTION
            } else {
                DATA_EXCEPTION
            },
            message: error.to_string(),
            retries,
        }
    }

    /// Upstream's `checkRetry`: time is left in `errors.retry.timeout`.
    fn may_retry(&self, started: Instant) -> bool {
        match self.settings.retry_timeout {
            None => true,
            Some(timeout) => started.elapsed() < timeout,
        }
    }

    /// The wait before retry number `attempt`: 300 ms doubling; past
    /// `errors.retry.delay.max.ms` a random wait below it; never past the
    /// retry deadline (the last attempt happens at the deadline).
    fn backoff(&self, attempt: u32, started: Instant) -> Duration {
        let max = self.settings.retry_delay_max;
        let doubled = doubled(RETRIES_DELAY_MIN, attempt.saturating_sub(1));
        let delay = if doubled > max {
            rand::thread_rng().gen_range(Duration::ZERO..max)
        } else {
            doubled
        };
        match self.settings.retry_timeout {
            None => delay,
            Some(timeout) => {
                delay.min((started + timeout).saturating_duration_since(Instant::now()))
            }
        }
    }

    /// Logs a record skipped under `errors.tolerance=all`: the error and
    /// the record's `origin` with `errors.log.enable`, its `content` too
    /// with `errors.log.include.messages`. Without either, and unless the
    /// record went to a dead letter queue, its origin is still logged, so
    /// no record vanishes without a trace.
    pub fn log_skipped(
        &self,
        error: &RecordError,
        origin: &str,
        content: impl FnOnce() -> String,
        dead_lettered: bool,
    ) {
        if self.settings.log_errors {
            if self.settings.log_messages {
                tracing::error!(
                    origin, stage = error.stage.as_str(), record = %content(),
                    "skipping a record (errors.tolerance=all): {error}"
                );
            } else {
                tracing::error!(
                    origin,
                    stage = error.stage.as_str(),
                    "skipping a record (errors.tolerance=all): {error}"
                );
            }
        } else if !dead_lettered {
            tracing::warn!(
                origin,
                stage = error.stage.as_str(),
                "skipping a record (errors.tolerance=all; set errors.log.enable for details)"
            );
        }
    }
}

/// `base` doubled `times` times, saturating: the exponential backoff of
/// both this operator and a sink's `put`/`flush` retries (`sink::retry`).
pub fn doubled(base: Duration, times: u32) -> Duration {
    base.saturating_mul(1u32.checked_shl(times).unwrap_or(u32::MAX))
}

/// Sleeps `delay` unless the task is (or gets) told to stop or pause;
/// `false` when it was.
async fn wait(delay: Duration, control: &mut watch::Receiver<Control>) -> bool {
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        if *control.borrow_and_update() != Control::Run {
            return false;
        }
        tokio::select! {
            _ = &mut sleep => return true,
            changed = control.changed() => {
                if changed.is_err() {
                    return false;
                }
            }
        }
    }
}

/// A key or value as quoted in a log line: text, cut after 1 KiB.
pub fn excerpt(bytes: Option<&[u8]>) -> String {
    match bytes {
        None => "null".into(),
        Some(b) => {
            let shown = &b[..b.len().min(LOGGED_BYTES)];
            let mut s = String::from_utf8_lossy(shown).into_owned();
            if b.len() > LOGGED_BYTES {
                s.push('…');
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn operator(pairs: &[(&str, &str)]) -> RetryWithTolerance {
        RetryWithTolerance::new(ErrorSettings::parse(&cfg(pairs)).unwrap())
    }

    #[derive(Debug)]
    struct Failure(bool);

    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(if self.0 {
                "registry unreachable"
            } else {
                "not JSON"
            })
        }
    }

    impl StageFailure for Failure {
        fn is_retriable(&self) -> bool {
            self.0
        }
    }

    /// An operation failing `failures` times (retriably or not), then
    /// succeeding; it notes when each attempt started.
    struct Flaky {
        failures: usize,
        retriable: bool,
        attempts: Mutex<Vec<Instant>>,
    }

    impl Flaky {
        fn new(failures: usize, retriable: bool) -> Flaky {
            Flaky {
                failures,
                retriable,
                attempts: Mutex::new(Vec::new()),
            }
        }

        async fn call(&self) -> Result<&'static str, Failure> {
            let mut attempts = self.attempts.lock().unwrap();
            attempts.push(Instant::now());
            if attempts.len() > self.failures {
                Ok("done")
            } else {
                Err(Failure(self.retriable))
            }
        }

        /// Milliseconds between consecutive attempts.
        fn gaps(&self) -> Vec<u128> {
            let a = self.attempts.lock().unwrap();
            a.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect()
        }
    }

    async fn run(
        op: &RetryWithTolerance,
        flaky: &Flaky,
        control: &mut watch::Receiver<Control>,
    ) -> Result<&'static str, Halt> {
        op.execute(Stage::ValueConverter, "Conv", control, || flaky.call())
            .await
    }

    #[test]
    fn defaults_match_kafka_connect() {
        let s = ErrorSettings::parse(&cfg(&[])).unwrap();
        assert_eq!(s, ErrorSettings::default());
        assert_eq!(s.retry_timeout, Some(Duration::ZERO));
        assert_eq!(s.retry_delay_max, Duration::from_secs(60));
        assert!(!s.tolerate && !s.log_errors && !s.log_messages);
        let s = ErrorSettings::parse(&cfg(&[
            ("errors.tolerance", "ALL"),
            ("errors.retry.timeout", "-1"),
            ("errors.retry.delay.max.ms", "30000"),
            ("errors.log.enable", "true"),
        ]))
        .unwrap();
        assert!(s.tolerate && s.log_errors);
        assert_eq!(s.retry_timeout, None);
        assert_eq!(s.retry_delay_max, Duration::from_secs(30));
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            (ERRORS_RETRY_TIMEOUT, "-2"),
            (ERRORS_RETRY_TIMEOUT, "ten"),
            (ERRORS_RETRY_TIMEOUT, "1.5"),
            (ERRORS_RETRY_DELAY_MAX_MS, "0"),
            (ERRORS_TOLERANCE, "some"),
            (ERRORS_LOG_ENABLE, "yes"),
        ] {
            let errs = validate(&cfg(&[(key, value)]));
            assert_eq!(errs.len(), 1, "{key}={value}: {errs:?}");
            assert_eq!(errs[0].key, key);
        }
        let errs = validate(&cfg(&[(ERRORS_RETRY_TIMEOUT, "-2")]));
        assert_eq!(
            errs[0].message,
            "Invalid value -2 for configuration errors.retry.timeout: must be an integer ≥ -1"
        );
        // The definitions check the same bounds for the control plane.
        let errs = crate::connectors::config::check_defs(
            &defs(),
            &cfg(&[
                (ERRORS_RETRY_TIMEOUT, "-2"),
                (ERRORS_RETRY_DELAY_MAX_MS, "0"),
            ]),
        );
        let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, [ERRORS_RETRY_TIMEOUT, ERRORS_RETRY_DELAY_MAX_MS]);
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_from_300_ms_up_to_the_maximum_delay() {
        let op = operator(&[
            ("errors.retry.timeout", "-1"),
            ("errors.retry.delay.max.ms", "5000"),
        ]);
        let (_tx, mut rx) = watch::channel(Control::Run);
        let flaky = Flaky::new(9, true);
        assert_eq!(run(&op, &flaky, &mut rx).await, Ok("done"));
        let gaps = flaky.gaps();
        assert_eq!(gaps[..5], [300, 600, 1200, 2400, 4800]);
        // 9600 would pass the cap: random waits below it from then on.
        assert_eq!(gaps.len(), 9);
        assert!(gaps[5..].iter().all(|g| *g < 5000), "{gaps:?}");
        assert_eq!(op.retries(), 9);
        assert_eq!(op.failures(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_retry_timeout() {
        let op = operator(&[("errors.retry.timeout", "1000")]);
        let (_tx, mut rx) = watch::channel(Control::Run);
        let flaky = Flaky::new(usize::MAX, true);
        let started = Instant::now();
        let Err(Halt::Failed(error)) = run(&op, &flaky, &mut rx).await else {
            panic!("expected a failure");
        };
        // 300, 600, then the last wait is cut to the deadline.
        assert_eq!(flaky.gaps(), [300, 600, 100]);
        assert_eq!(started.elapsed(), Duration::from_millis(1000));
        assert_eq!(error.retries, 3);
        assert_eq!(error.exception, RETRIABLE_EXCEPTION);
        assert_eq!(error.stage, Stage::ValueConverter);
        assert_eq!(
            error.to_string(),
            "VALUE_CONVERTER (Conv) failed: registry unreachable (still failing after 3 retries: errors.retry.timeout exhausted)"
        );
        assert_eq!(op.failures(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_retry_timeout_nothing_is_retried() {
        let op = operator(&[]);
        let (_tx, mut rx) = watch::channel(Control::Run);
        let flaky = Flaky::new(1, true);
        let Err(Halt::Failed(error)) = run(&op, &flaky, &mut rx).await else {
            panic!("expected a failure");
        };
        assert_eq!(flaky.attempts.lock().unwrap().len(), 1);
        assert!(error
            .to_string()
            .ends_with("(retriable, but errors.retry.timeout allowed no retry)"));
    }

    #[tokio::test(start_paused = true)]
    async fn non_retriable_failures_are_not_retried() {
        let op = operator(&[("errors.retry.timeout", "-1")]);
        let (_tx, mut rx) = watch::channel(Control::Run);
        let flaky = Flaky::new(1, false);
        let started = Instant::now();
        let Err(Halt::Failed(error)) = run(&op, &flaky, &mut rx).await else {
            panic!("expected a failure");
        };
        assert_eq!(flaky.attempts.lock().unwrap().len(), 1);
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(error.exception, DATA_EXCEPTION);
        assert_eq!(error.to_string(), "VALUE_CONVERTER (Conv) failed: not JSON");
    }

    #[tokio::test(start_paused = true)]
    async fn stop_and_pause_end_a_retry_wait_at_once() {
        for signal in [Control::Stop, Control::Pause] {
            let op = operator(&[("errors.retry.timeout", "-1")]);
            let (tx, mut rx) = watch::channel(Control::Run);
            let flaky = Flaky::new(usize::MAX, true);
            let started = Instant::now();
            let (result, ()) = tokio::join!(run(&op, &flaky, &mut rx), async {
                tokio::time::sleep(Duration::from_millis(1000)).await;
                tx.send_replace(signal);
            });
            assert_eq!(result, Err(Halt::Interrupted), "{signal:?}");
            // Attempts at 0, 300 and 900 ms; the wait for 2100 ends at 1000.
            assert_eq!(started.elapsed(), Duration::from_millis(1000));
            assert_eq!(flaky.attempts.lock().unwrap().len(), 3);
        }
        // Already paused: a retriable failure is not waited on.
        let op = operator(&[("errors.retry.timeout", "-1")]);
        let (_tx, mut rx) = watch::channel(Control::Pause);
        let flaky = Flaky::new(usize::MAX, true);
        assert_eq!(run(&op, &flaky, &mut rx).await, Err(Halt::Interrupted));
        assert_eq!(flaky.attempts.lock().unwrap().len(), 1);
    }

    #[test]
    fn logged_payloads_are_cut() {
        assert_eq!(excerpt(None), "null");
        assert_eq!(excerpt(Some(b"abc")), "abc");
        assert_eq!(
            excerpt(Some(&[b'x'; 2000])).chars().count(),
            LOGGED_BYTES + 1
        );
    }
}
