//! The self-managed `connection.url` form of the JDBC sinks
//! (`jdbc:postgresql://host:5432/db?user=…`), read into its parts.

/// What a self-managed `connection.url` says:
/// `jdbc:(mysql|mariadb|postgresql)://host[:port][/db][?user=…&password=…&sslmode=…]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JdbcUrl {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub ssl_mode: Option<String>,
}

impl JdbcUrl {
    /// Errors never quote the URL: it may hold a password.
    pub fn parse(url: &str) -> Result<JdbcUrl, String> {
        let rest = url.strip_prefix("jdbc:").unwrap_or(url);
        let (scheme, rest) = rest
            .split_once("://")
            .ok_or("expected jdbc:<database>://host[:port]/database")?;
        if !["mysql", "mariadb", "postgresql", "postgres"].contains(&scheme) {
            return Err(format!(
                "unsupported JDBC URL scheme {scheme:?}; expected mysql, mariadb or postgresql"
            ));
        }
        let (authority_path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = authority_path
            .split_once('/')
            .unwrap_or((authority_path, ""));
        if authority.contains(',') {
            return Err("JDBC URLs with several hosts are not supported".into());
        }
        if authority.contains('@') {
            return Err("put the user and password in connection.user and connection.password, not in the URL's host part".into());
        }
        let (host, port) = split_host_port(authority)?;
        let mut out = JdbcUrl {
            host: Some(host).filter(|h| !h.is_empty()),
            port,
            database: Some(path.trim_end_matches('/').to_string()).filter(|d| !d.is_empty()),
            ..JdbcUrl::default()
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "user" => out.user = Some(v.to_string()),
                "password" => out.password = Some(v.to_string()),
                "sslmode" | "sslMode" | "ssl-mode" => out.ssl_mode = Some(v.to_string()),
                _ => {}
            }
        }
        Ok(out)
    }
}

fn split_host_port(authority: &str) -> Result<(String, Option<u16>), String> {
    let bad_port = |p: &str| format!("invalid port {p:?} in connection.url");
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or("unclosed [ in connection.url host")?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().map_err(|_| bad_port(p))?),
            None => None,
        };
        return Ok((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, p)) => Ok((host.to_string(), Some(p.parse().map_err(|_| bad_port(p))?))),
        None => Ok((authority.to_string(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jdbc_urls_parse_and_errors_do_not_echo_them() {
        let u = JdbcUrl::parse("jdbc:mysql://[::1]:3307/test").unwrap();
        assert_eq!(
            (u.host.as_deref(), u.port, u.database.as_deref()),
            (Some("::1"), Some(3307), Some("test"))
        );
        let u = JdbcUrl::parse("jdbc:mariadb://maria/").unwrap();
        assert_eq!((u.port, u.database), (None, None));
        let err = JdbcUrl::parse("jdbc:oracle:thin:@host:1521:orcl?password=hunter2").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        let err = JdbcUrl::parse("jdbc:mysql://u:hunter2@h/db").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(JdbcUrl::parse("jdbc:mysql://h:port/db").is_err());
    }
}
