//! The HTTP sink's config keys (Confluent Cloud's `HttpSink`), their
//! definitions, and the typed settings a task runs with.

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};

use super::template::Template;
use crate::connectors::config::{non_empty, number};
use crate::connectors::sink_config::{self, MAX_RETRIES, RETRY_BACKOFF_MS};
use crate::connectors::{Config, ConfigDef, ConfigType, FieldError, Importance};

pub const HTTP_API_URL: &str = "http.api.url";
pub const REQUEST_METHOD: &str = "request.method";
pub const HEADERS: &str = "headers";
pub const HEADER_SEPARATOR: &str = "header.separator";
pub const AUTH_TYPE: &str = "auth.type";
pub const CONNECTION_USER: &str = "connection.user";
pub const CONNECTION_PASSWORD: &str = "connection.password";
pub const BEARER_TOKEN: &str = "bearer.token";
pub const REQUEST_BODY_FORMAT: &str = "request.body.format";
pub const REQUEST_BODY_TEMPLATE: &str = "request.body.template";
pub const BATCH_MAX_SIZE: &str = "batch.max.size";
pub const BATCH_PREFIX: &str = "batch.prefix";
pub const BATCH_SUFFIX: &str = "batch.suffix";
pub const BATCH_SEPARATOR: &str = "batch.separator";
pub const BATCH_JSON_AS_ARRAY: &str = "batch.json.as.array";
pub const BEHAVIOR_ON_NULL_VALUES: &str = "behavior.on.null.values";
pub const BEHAVIOR_ON_ERROR: &str = "behavior.on.error";
pub const RETRY_BACKOFF_POLICY: &str = "retry.backoff.policy";
pub const RETRY_ON_STATUS_CODES: &str = "retry.on.status.codes";
pub const CONNECT_TIMEOUT_MS: &str = "http.connect.timeout.ms";
pub const REQUEST_TIMEOUT_MS: &str = "http.request.timeout.ms";

const DEFAULT_MAX_RETRIES: u32 = 3;
const DEFAULT_RETRY_BACKOFF_MS: u64 = 3000;
const DEFAULT_RETRY_CODES: &str = "429,500-";

pub fn defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const CONN: &str = "HTTP endpoint";
    const AUTH: &str = "Authentication";
    const BODY: &str = "Request body and batching";
    const RETRY: &str = "Retries and errors";
    let mut defs = vec![
        ConfigDef::new(HTTP_API_URL, String)
            .required()
            .host()
            .group(CONN)
            .doc("HTTP URL", "The http:// or https:// URL records are sent to. ${topic} and ${key} (and ${key.field}, ${value.field}) are replaced per record, percent-encoded; records bound for different URLs go in different requests."),
        ConfigDef::new(REQUEST_METHOD, String)
            .default("POST")
            .allowed(&["POST", "PUT", "PATCH"])
            .importance(Importance::High)
            .group(CONN)
            .doc("HTTP request method", "Method of the requests that carry records."),
        ConfigDef::new(HEADERS, String)
            .default("")
            .group(CONN)
            .doc("HTTP headers", "Headers sent with every request, as name:value pairs separated by header.separator, e.g. X-Source:kafka|X-Env:prod."),
        ConfigDef::new(HEADER_SEPARATOR, String)
            .default("|")
            .importance(Importance::Low)
            .group(CONN)
            .doc("Header separator", "Separator between the pairs of headers."),
        ConfigDef::new(CONNECT_TIMEOUT_MS, Int)
            .default("30000")
            .min(1)
            .importance(Importance::Low)
            .group(CONN)
            .doc("Connect timeout (ms)", "How long to wait for a connection to the endpoint."),
        ConfigDef::new(REQUEST_TIMEOUT_MS, Int)
            .default("30000")
            .min(1)
            .importance(Importance::Low)
            .group(CONN)
            .doc("Request timeout (ms)", "How long to wait for a response; a request that times out is retried."),
        ConfigDef::new(AUTH_TYPE, String)
            .default("NONE")
            .allowed(&["NONE", "BASIC", "BEARER", "OAUTH2"])
            .importance(Importance::High)
            .group(AUTH)
            .doc("Endpoint authentication type", "NONE; BASIC (connection.user and connection.password); BEARER (bearer.token). OAUTH2 is not supported yet."),
        ConfigDef::new(CONNECTION_USER, String)
            .group(AUTH)
            .doc("Username", "User name for BASIC authentication."),
        ConfigDef::new(CONNECTION_PASSWORD, Password)
            .group(AUTH)
            .doc("Password", "Password for BASIC authentication."),
        ConfigDef::new(BEARER_TOKEN, Password)
            .group(AUTH)
            .doc("Bearer token", "Token sent as Authorization: Bearer <token> with auth.type=BEARER."),
        ConfigDef::new(REQUEST_BODY_FORMAT, String)
            .default("string")
            .allowed(&["string", "json"])
            .importance(Importance::High)
            .group(BODY)
            .doc("Request body format", "string: each record value as text (strings as they are, structured values as JSON), Content-Type text/plain. json: each record value as JSON, Content-Type application/json."),
        ConfigDef::new(REQUEST_BODY_TEMPLATE, String)
            .group(BODY)
            .doc("Request body template", "Tributary extension: each record is rendered through this template instead of being sent as its value. Placeholders: ${topic}, ${key}, ${value}, ${key.field}, ${value.field}, ${partition}, ${offset}, ${timestamp}. With request.body.format=json, key and value placeholders are written as JSON (strings quoted) and the result must be JSON, e.g. {\"source\":\"${topic}\",\"data\":${value}}."),
        ConfigDef::new(BATCH_MAX_SIZE, Int)
            .default("1")
            .min(1)
            .importance(Importance::High)
            .group(BODY)
            .doc("Batch max size", "Most records sent in one request."),
        ConfigDef::new(BATCH_PREFIX, String)
            .default("")
            .group(BODY)
            .doc("Batch prefix", "Text before the records of a request."),
        ConfigDef::new(BATCH_SUFFIX, String)
            .default("")
            .group(BODY)
            .doc("Batch suffix", "Text after the records of a request."),
        ConfigDef::new(BATCH_SEPARATOR, String)
            .default(",")
            .group(BODY)
            .doc("Batch separator", "Text between the records of a request."),
        ConfigDef::new(BATCH_JSON_AS_ARRAY, Boolean)
            .default("false")
            .group(BODY)
            .doc("Batch JSON as array", "With request.body.format=json, send the records of a request as one JSON array (batch.prefix, batch.suffix and batch.separator are then not used)."),
        ConfigDef::new(BEHAVIOR_ON_NULL_VALUES, String)
            .default("ignore")
            .allowed(&["ignore", "log", "fail", "delete"])
            .group(BODY)
            .doc("Behavior on null values", "Records with a null value (tombstones): ignore (skip), log (skip and log the coordinates), fail (an error handled per errors.tolerance) or delete (a DELETE request to the record's URL)."),
        ConfigDef::new(MAX_RETRIES, Int)
            .default("3")
            .min(0)
            .group(RETRY)
            .doc("Max retries", "How often a request answered with one of retry.on.status.codes, or that failed to connect or timed out, is retried before the task fails."),
        ConfigDef::new(RETRY_BACKOFF_MS, Int)
            .default("3000")
            .min(0)
            .group(RETRY)
            .doc("Retry backoff (ms)", "Wait before the first retry; with EXPONENTIAL_WITH_JITTER it doubles with each retry (up to a minute). A Retry-After header (seconds or an HTTP date) overrides it, up to five minutes."),
        ConfigDef::new(RETRY_BACKOFF_POLICY, String)
            .default("EXPONENTIAL_WITH_JITTER")
            .allowed(&["EXPONENTIAL_WITH_JITTER", "CONSTANT_VALUE"])
            .importance(Importance::Low)
            .group(RETRY)
            .doc("Retry backoff policy", "EXPONENTIAL_WITH_JITTER: the wait doubles with each retry, randomised by up to half; CONSTANT_VALUE: always retry.backoff.ms."),
        ConfigDef::new(RETRY_ON_STATUS_CODES, String)
            .default(DEFAULT_RETRY_CODES)
            .group(RETRY)
            .doc("Retry on HTTP status codes", "Status codes that are retried, as a comma-separated list of codes and ranges: 429,500- (the default) is 429 and every code from 500; 500-503 a closed range. 401, 403 and 407 fail the task. Other non-2xx answers refuse their records for good: they go through errors.tolerance (dead letter queue with errors.tolerance=all)."),
        ConfigDef::new(BEHAVIOR_ON_ERROR, String)
            .default("fail")
            .allowed(&["fail", "ignore"])
            .group(RETRY)
            .doc("Behavior on error", "What happens to records whose request the endpoint refused for good (a non-retried 4xx): fail hands them to the runtime's error handling (errors.tolerance=none fails the task; all skips them, logs them and sends them to the dead letter queue); ignore logs the refusal and drops them."),
    ];
    // The runtime's retry keys are redefined above with the HTTP sink's
    // defaults (it retries requests itself, honouring Retry-After).
    defs.extend(
        sink_config::defs()
            .into_iter()
            .filter(|d| d.name != MAX_RETRIES && d.name != RETRY_BACKOFF_MS),
    );
    defs
}

/// Checks the definitions cannot express; each error names its key.
pub fn validate(config: &Config) -> Vec<FieldError> {
    let mut errors = sink_config::validate(config);
    if let Err(e) = HttpSettings::parse_own(config) {
        errors.push(e);
    }
    errors
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    String,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullValues {
    Ignore,
    Log,
    Fail,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackoffPolicy {
    ExponentialWithJitter,
    Constant,
}

/// A password or token: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    Basic { user: String, password: Secret },
    Bearer(Secret),
}

/// HTTP status codes to retry: single codes and ranges (open-ended `500-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCodes(Vec<(u16, u16)>);

impl StatusCodes {
    pub fn parse(s: &str) -> Result<StatusCodes, String> {
        let mut ranges = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let code = |c: &str| {
                c.trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|c| (100..=599).contains(c))
                    .ok_or_else(|| format!("{c:?} is not an HTTP status code"))
            };
            let range = match item.split_once('-') {
                None => {
                    let c = code(item)?;
                    (c, c)
                }
                Some((from, "")) => (code(from)?, 599),
                Some((from, to)) => (code(from)?, code(to)?),
            };
            if range.0 > range.1 {
                return Err(format!("{item} is an empty range"));
            }
            ranges.push(range);
        }
        Ok(StatusCodes(ranges))
    }

    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|(a, b)| (*a..=*b).contains(&status))
    }
}

/// A task's typed settings, parsed from its task config.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub url: Template,
    pub method: reqwest::Method,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub auth: Auth,
    pub format: BodyFormat,
    pub body_template: Option<Template>,
    pub batch_max_size: usize,
    pub batch_prefix: String,
    pub batch_suffix: String,
    pub batch_separator: String,
    pub json_as_array: bool,
    pub null_values: NullValues,
    /// `behavior.on.error=ignore`: refused records are logged and dropped.
    pub ignore_errors: bool,
    pub max_retries: u32,
    pub retry_backoff: Duration,
    pub backoff_policy: BackoffPolicy,
    pub retry_codes: StatusCodes,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl HttpSettings {
    pub fn parse(config: &Config) -> Result<HttpSettings, FieldError> {
        if let Some(e) = sink_config::validate(config).into_iter().next() {
            return Err(e);
        }
        Self::parse_own(config)
    }

    fn parse_own(config: &Config) -> Result<HttpSettings, FieldError> {
        let url_text = non_empty(config, HTTP_API_URL).ok_or_else(|| {
            FieldError::new(
                HTTP_API_URL,
                "Missing required configuration \"http.api.url\" which has no default value.",
            )
        })?;
        let url = Template::parse(url_text).map_err(|m| FieldError::new(HTTP_API_URL, m))?;
        check_url(url_text).map_err(|m| FieldError::new(HTTP_API_URL, m))?;

        let method = match non_empty(config, REQUEST_METHOD)
            .unwrap_or("POST")
            .to_ascii_uppercase()
            .as_str()
        {
            "POST" => reqwest::Method::POST,
            "PUT" => reqwest::Method::PUT,
            "PATCH" => reqwest::Method::PATCH,
            other => {
                return Err(FieldError::new(
                    REQUEST_METHOD,
                    format!("Invalid value {other}: must be one of POST, PUT, PATCH"),
                ))
            }
        };
        let separator = config
            .get(HEADER_SEPARATOR)
            .filter(|s| !s.is_empty())
            .map_or("|", String::as_str);
        let headers = parse_headers(config.get(HEADERS).map_or("", String::as_str), separator)
            .map_err(|m| FieldError::new(HEADERS, m))?;

        let auth = match non_empty(config, AUTH_TYPE)
            .unwrap_or("NONE")
            .to_ascii_uppercase()
            .as_str()
        {
            "NONE" => Auth::None,
            "BASIC" => Auth::Basic {
                user: non_empty(config, CONNECTION_USER)
                    .ok_or_else(|| {
                        FieldError::new(CONNECTION_USER, "auth.type=BASIC needs connection.user")
                    })?
                    .to_string(),
                // Passwords are not trimmed: spaces may be part of them.
                password: Secret(config.get(CONNECTION_PASSWORD).cloned().unwrap_or_default()),
            },
            "BEARER" => Auth::Bearer(Secret(
                config
                    .get(BEARER_TOKEN)
                    .filter(|t| !t.trim().is_empty())
                    .cloned()
                    .ok_or_else(|| {
                        FieldError::new(BEARER_TOKEN, "auth.type=BEARER needs bearer.token")
                    })?,
            )),
            "OAUTH2" => {
                return Err(FieldError::new(
                    AUTH_TYPE,
                    "auth.type OAUTH2 is not supported yet; use NONE, BASIC or BEARER",
                ))
            }
            other => {
                return Err(FieldError::new(
                    AUTH_TYPE,
                    format!("Invalid value {other}: must be one of NONE, BASIC, BEARER"),
                ))
            }
        };

        let format = match non_empty(config, REQUEST_BODY_FORMAT)
            .unwrap_or("string")
            .to_ascii_lowercase()
            .as_str()
        {
            "string" => BodyFormat::String,
            "json" => BodyFormat::Json,
            other => {
                return Err(FieldError::new(
                    REQUEST_BODY_FORMAT,
                    format!("Invalid value {other}: must be one of string, json"),
                ))
            }
        };
        let body_template = non_empty(config, REQUEST_BODY_TEMPLATE)
            .map(|t| Template::parse(t).map_err(|m| FieldError::new(REQUEST_BODY_TEMPLATE, m)))
            .transpose()?;

        let null_values = match non_empty(config, BEHAVIOR_ON_NULL_VALUES)
            .unwrap_or("ignore")
            .to_ascii_lowercase()
            .as_str()
        {
            "ignore" => NullValues::Ignore,
            "log" => NullValues::Log,
            "fail" => NullValues::Fail,
            "delete" => NullValues::Delete,
            other => {
                return Err(FieldError::new(
                    BEHAVIOR_ON_NULL_VALUES,
                    format!("Invalid value {other}: must be one of ignore, log, fail, delete"),
                ))
            }
        };
        let ignore_errors = match non_empty(config, BEHAVIOR_ON_ERROR)
            .unwrap_or("fail")
            .to_ascii_lowercase()
            .as_str()
        {
            "fail" => false,
            "ignore" => true,
            other => {
                return Err(FieldError::new(
                    BEHAVIOR_ON_ERROR,
                    format!("Invalid value {other}: must be one of fail, ignore"),
                ))
            }
        };
        let backoff_policy = match non_empty(config, RETRY_BACKOFF_POLICY)
            .unwrap_or("EXPONENTIAL_WITH_JITTER")
            .to_ascii_uppercase()
            .as_str()
        {
            "EXPONENTIAL_WITH_JITTER" => BackoffPolicy::ExponentialWithJitter,
            "CONSTANT_VALUE" => BackoffPolicy::Constant,
            other => {
                return Err(FieldError::new(
                    RETRY_BACKOFF_POLICY,
                    format!(
                    "Invalid value {other}: must be one of EXPONENTIAL_WITH_JITTER, CONSTANT_VALUE"
                ),
                ))
            }
        };
        let retry_codes = StatusCodes::parse(
            non_empty(config, RETRY_ON_STATUS_CODES).unwrap_or(DEFAULT_RETRY_CODES),
        )
        .map_err(|m| FieldError::new(RETRY_ON_STATUS_CODES, m))?;

        let batch_max_size: usize = number(config, BATCH_MAX_SIZE, 1)?;
        if batch_max_size == 0 {
            return Err(FieldError::new(
                BATCH_MAX_SIZE,
                "Invalid value 0: must be at least 1",
            ));
        }
        Ok(HttpSettings {
            url,
            method,
            headers,
            auth,
            format,
            body_template,
            batch_max_size,
            // Prefix, suffix and separator are not trimmed: spaces and
            // newlines are meaningful there.
            batch_prefix: config.get(BATCH_PREFIX).cloned().unwrap_or_default(),
            batch_suffix: config.get(BATCH_SUFFIX).cloned().unwrap_or_default(),
            batch_separator: config
                .get(BATCH_SEPARATOR)
                .cloned()
                .unwrap_or_else(|| ",".to_string()),
            json_as_array: non_empty(config, BATCH_JSON_AS_ARRAY)
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            null_values,
            ignore_errors,
            max_retries: number(config, MAX_RETRIES, DEFAULT_MAX_RETRIES)?,
            retry_backoff: Duration::from_millis(number(
                config,
                RETRY_BACKOFF_MS,
                DEFAULT_RETRY_BACKOFF_MS,
            )?),
            backoff_policy,
            retry_codes,
            connect_timeout: Duration::from_millis(number(config, CONNECT_TIMEOUT_MS, 30_000)?),
            request_timeout: Duration::from_millis(number(config, REQUEST_TIMEOUT_MS, 30_000)?),
        })
    }
}

/// The URL with every placeholder filled in must be an absolute http(s) URL.
fn check_url(text: &str) -> Result<(), String> {
    let mut sample = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        sample.push_str(&rest[..start]);
        sample.push('x');
        rest = rest[start..].split_once('}').map_or("", |(_, r)| r);
    }
    sample.push_str(rest);
    let url = reqwest::Url::parse(&sample).map_err(|e| format!("not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the URL scheme must be http or https, not {}",
            url.scheme()
        ));
    }
    // The host is fixed, so that the egress policy can judge it.
    let authority = text.split_once("://").map_or("", |(_, rest)| {
        rest.split(['/', '?', '#']).next().unwrap_or("")
    });
    if authority.contains("${") {
        return Err("placeholders are not allowed in the URL's host".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL must name a host".into());
    }
    Ok(())
}

/// `name:value` pairs separated by `separator`.
fn parse_headers(text: &str, separator: &str) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let mut headers = Vec::new();
    for pair in text
        .split(separator)
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair
            .split_once(':')
            .ok_or_else(|| format!("header {pair:?} is not of the form name:value"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("{:?} is not a valid header name", name.trim()))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| format!("the value of header {name} is not a valid header value"))?;
        headers.push((name, value));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        let mut c: Config = [
            ("topics", "orders"),
            ("http.api.url", "https://api.example.com/in"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        c.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        c
    }

    fn keys(config: &Config) -> Vec<String> {
        validate(config).into_iter().map(|e| e.key).collect()
    }

    #[test]
    fn defaults_follow_confluent_cloud() {
        let s = HttpSettings::parse(&cfg(&[])).unwrap();
        assert_eq!(s.method, reqwest::Method::POST);
        assert_eq!(s.format, BodyFormat::String);
        assert_eq!(s.batch_max_size, 1);
        assert_eq!(s.batch_separator, ",");
        assert_eq!(s.max_retries, 3);
        assert_eq!(s.retry_backoff, Duration::from_millis(3000));
        assert_eq!(s.auth, Auth::None);
        assert_eq!(s.null_values, NullValues::Ignore);
        assert!(!s.ignore_errors && !s.json_as_array);
        for code in [429, 500, 503, 599] {
            assert!(s.retry_codes.contains(code), "{code}");
        }
        for code in [400, 401, 404, 422, 200] {
            assert!(!s.retry_codes.contains(code), "{code}");
        }
    }

    #[test]
    fn status_code_lists_and_ranges() {
        let c = StatusCodes::parse("400-, 302").unwrap();
        assert!(c.contains(400) && c.contains(599) && c.contains(302) && !c.contains(301));
        let c = StatusCodes::parse("500-503").unwrap();
        assert!(c.contains(502) && !c.contains(504));
        assert!(StatusCodes::parse("5xx").is_err());
        assert!(StatusCodes::parse("503-500").is_err());
        assert_eq!(
            keys(&cfg(&[("retry.on.status.codes", "abc")])),
            vec!["retry.on.status.codes"]
        );
    }

    #[test]
    fn headers_are_pipe_separated_pairs() {
        let s = HttpSettings::parse(&cfg(&[("headers", "X-A: 1|X-B:two words|")])).unwrap();
        let h: Vec<(String, String)> = s
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        assert_eq!(
            h,
            vec![
                ("x-a".into(), "1".into()),
                ("x-b".into(), "two words".into())
            ]
        );
        let s = HttpSettings::parse(&cfg(&[("headers", "A:1;B:2"), ("header.separator", ";")]))
            .unwrap();
        assert_eq!(s.headers.len(), 2);
        assert_eq!(keys(&cfg(&[("headers", "novalue")])), vec!["headers"]);
        assert_eq!(keys(&cfg(&[("headers", "bad name:1")])), vec!["headers"]);
    }

    #[test]
    fn auth_needs_its_credentials_and_hides_them() {
        assert_eq!(
            keys(&cfg(&[("auth.type", "BASIC")])),
            vec!["connection.user"]
        );
        assert_eq!(keys(&cfg(&[("auth.type", "bearer")])), vec!["bearer.token"]);
        assert_eq!(keys(&cfg(&[("auth.type", "OAUTH2")])), vec!["auth.type"]);
        let s = HttpSettings::parse(&cfg(&[
            ("auth.type", "BASIC"),
            ("connection.user", "u"),
            ("connection.password", "hunter2"),
        ]))
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        let s = HttpSettings::parse(&cfg(&[("auth.type", "BEARER"), ("bearer.token", "tok3n")]))
            .unwrap();
        assert_eq!(s.auth, Auth::Bearer(Secret("tok3n".into())));
        assert!(!format!("{s:?}").contains("tok3n"));
    }

    #[test]
    fn urls_and_templates_are_checked() {
        assert_eq!(
            keys(&cfg(&[("http.api.url", "ftp://x.example.com")])),
            vec!["http.api.url"]
        );
        assert_eq!(
            keys(&cfg(&[("http.api.url", "not a url")])),
            vec!["http.api.url"]
        );
        assert_eq!(
            keys(&cfg(&[("http.api.url", "https://${key}/x")])),
            vec!["http.api.url"]
        );
        assert!(keys(&cfg(&[(
            "http.api.url",
            "https://api.example.com/${topic}/${key}"
        )]))
        .is_empty());
        assert_eq!(
            keys(&cfg(&[("http.api.url", "https://api.example.com/${nope}")])),
            vec!["http.api.url"]
        );
        assert_eq!(
            keys(&cfg(&[("request.body.template", "${valu}")])),
            vec!["request.body.template"]
        );
    }

    #[test]
    fn retry_keys_replace_the_runtime_defaults_in_the_definitions() {
        let d = defs();
        let retries: Vec<&ConfigDef> = d.iter().filter(|d| d.name == "max.retries").collect();
        assert_eq!(retries.len(), 1);
        assert_eq!(retries[0].default_value, Some("3"));
        for key in [
            "topics",
            "errors.tolerance",
            "errors.deadletterqueue.topic.name",
        ] {
            assert!(d.iter().any(|d| d.name == key), "{key}");
        }
        let passwords: Vec<&str> = d
            .iter()
            .filter(|d| d.config_type == ConfigType::Password)
            .map(|d| d.name)
            .collect();
        assert_eq!(passwords, vec!["connection.password", "bearer.token"]);
    }
}
