//! `deploy/local/up` after a day of use (issue 18): a user runs `up`, creates environments and a
//! cluster of their own, and runs `up` again the next morning. The second run must return at
//! once, point the walkthrough at the same local cluster, and print a connector-creation command
//! that works as printed; no process that outlives `up` may hold its lock.
//!
//! Runs the real script against a scratch `TRIBUTARY_HOME`, database and port, with the binaries
//! of this build (`TRIBUTARY_BIN_DIR`, so `up` does not build in release mode here).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio::process::Command;
use tributary_tests::{bin_dir, kafka_bootstrap, unique, TestDatabase};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

struct Stack {
    home: PathBuf,
    db: TestDatabase,
    addr: String,
}

impl Stack {
    fn script(&self, name: &str) -> Command {
        let mut cmd = Command::new(repo_root().join("deploy/local").join(name));
        cmd.env("TRIBUTARY_HOME", &self.home)
            .env("DATABASE_URL", &self.db.url)
            .env("TRIBUTARY_HTTP_ADDR", &self.addr)
            .env("TRIBUTARY_BIN_DIR", bin_dir())
            .env("KAFKA_BOOTSTRAP", kafka_bootstrap())
            // The walkthrough's keys are made up by `up` itself.
            .env_remove("TRIBUTARY_BOOTSTRAP_API_KEY")
            .env_remove("TRIBUTARY_BOOTSTRAP_API_SECRET")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Runs `up`; returns what it printed on stdout and how long it took.
    async fn up(&self) -> anyhow::Result<(String, Duration)> {
        let started = Instant::now();
        let out = tokio::time::timeout(Duration::from_secs(300), self.script("up").output())
            .await
            .context("deploy/local/up did not return within 300 s")??;
        let took = started.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!(
                "deploy/local/up failed ({}):\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok((stdout, took))
    }

    /// Stops what `up` started and forgets the scratch home. Runs from `Drop`, so a failed
    /// assertion does not leave a control plane behind.
    fn down(&self) {
        let out = std::process::Command::new(repo_root().join("deploy/local/down"))
            .env("TRIBUTARY_HOME", &self.home)
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(out) if !out.status.success() => {
                eprintln!("down: {}", String::from_utf8_lossy(&out.stderr))
            }
            Err(e) => eprintln!("down: {e}"),
            Ok(_) => {}
        }
        std::fs::remove_dir_all(&self.home).ok();
    }

    /// The variables `up` wrote for the walkthrough.
    fn env_file(&self) -> anyhow::Result<HashMap<String, String>> {
        let text = std::fs::read_to_string(self.home.join("env"))?;
        Ok(text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect())
    }
}

/// Processes (other than this test) that have `file` open.
fn holders(file: &Path) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for p in procs.flatten() {
        let pid = p.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == file))
        {
            let cmd = std::fs::read_to_string(p.path().join("cmdline")).unwrap_or_default();
            found.push(format!("{pid} {}", cmd.replace('\0', " ")));
        }
    }
    found
}

/// The connector-creation command exactly as `up` printed it (a `curl` line and its `\`
/// continuations).
fn printed_create_command(stdout: &str) -> anyhow::Result<String> {
    let mut lines = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Create a Datagen connector"))
        .skip(1);
    let mut command = String::new();
    for line in lines.by_ref() {
        command.push_str(line);
        command.push('\n');
        if !line.trim_end().ends_with('\\') {
            break;
        }
    }
    if !command.contains("curl") {
        bail!("no connector-creation command in the output of up:\n{stdout}");
    }
    Ok(command)
}

#[tokio::test]
async fn a_second_up_after_a_day_of_use_returns_at_once_and_keeps_the_local_cluster(
) -> anyhow::Result<()> {
    let home = std::env::temp_dir().join(unique("tributary_up_home"));
    std::fs::create_dir_all(&home)?;
    let stack = Stack {
        home,
        db: TestDatabase::create().await?,
        addr: format!("127.0.0.1:{}", free_port()),
    };
    let result = day_of_use(&stack).await;
    let db = stack.db.clone();
    drop(stack);
    db.drop_database().await.ok();
    result
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.down();
    }
}

async fn day_of_use(stack: &Stack) -> anyhow::Result<()> {
    let lock = stack.home.join("up.lock");
    let (first_out, _) = stack.up().await?;
    let first = stack.env_file()?;
    let (env, cluster) = (first["ENV"].clone(), first["CLUSTER"].clone());
    assert!(env.starts_with("env-"), "ENV after the first up: {first:?}");
    assert!(
        cluster.starts_with("lkc-"),
        "CLUSTER after the first up: {first:?}"
    );
    assert!(
        holders(&lock).is_empty(),
        "processes that outlive up hold its lock: {:?}",
        holders(&lock)
    );
    assert!(first_out.contains(&format!("environments/{env}/clusters/{cluster}/connectors")));

    // A day of use: environments of the user's own (at least one that the API lists before the
    // default one: environments are listed by id) and a second cluster on the same broker.
    let http = reqwest::Client::new();
    let url = first["URL"].clone();
    let (key, secret) = (first["KEY"].clone(), first["SECRET"].clone());
    let post = |path: &str, body: Value| {
        http.post(format!("{url}{path}"))
            .basic_auth(&key, Some(&secret))
            .json(&body)
            .send()
    };
    let mut created = Vec::new();
    for i in 0..40 {
        let r = post(
            "/org/v2/environments",
            json!({"display_name": format!("team-{i}")}),
        )
        .await?;
        assert_eq!(r.status(), 201, "create environment: {}", r.text().await?);
        let id = r.json::<Value>().await?["id"]
            .as_str()
            .context("environment id")?
            .to_string();
        created.push(id);
        if created.len() >= 2 && created.iter().any(|e| e < &env) {
            break;
        }
    }
    let other_env = created
        .iter()
        .min()
        .context("environments created")?
        .clone();
    assert!(
        other_env < env,
        "no new environment lists before {env}: {created:?}"
    );
    let r = post(
        "/cmk/v2/clusters",
        json!({"spec": {
            "display_name": "second",
            "kafka_bootstrap_endpoint": kafka_bootstrap(),
            "environment": {"id": other_env},
        }}),
    )
    .await?;
    // Confluent answers 202: the cluster is being provisioned.
    assert!(
        r.status().is_success(),
        "register a second cluster: {}",
        r.text().await?
    );

    // The next morning.
    let (second_out, took) = stack.up().await?;
    assert!(
        took < Duration::from_secs(30),
        "the second up took {took:?}; it should find everything running"
    );
    let second = stack.env_file()?;
    assert_eq!(second["ENV"], env, "ENV changed between runs");
    assert_eq!(second["CLUSTER"], cluster, "CLUSTER changed between runs");
    assert!(
        holders(&lock).is_empty(),
        "processes hold the lock: {:?}",
        holders(&lock)
    );

    // Even without what the first run remembered, `up` finds the cluster it registered.
    std::fs::remove_file(stack.home.join("local-cluster"))?;
    stack.up().await?;
    let third = stack.env_file()?;
    assert_eq!((&third["ENV"], &third["CLUSTER"]), (&env, &cluster));

    // The printed command works as printed.
    let command = printed_create_command(&second_out)?;
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{} -sS -o /dev/null -w '%{{http_code}}'",
            command.trim_end()
        ))
        .output()
        .await?;
    let code = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        code.trim(),
        "201",
        "the printed command:\n{command}\nanswered {code}; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = http
        .get(format!(
            "{url}/connect/v1/environments/{env}/clusters/{cluster}/connectors/orders-gen/status"
        ))
        .basic_auth(&key, Some(&secret))
        .send()
        .await?;
    assert_eq!(status.status(), 200);
    Ok(())
}
