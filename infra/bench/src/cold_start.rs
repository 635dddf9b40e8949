//! Cold start of a function binary: the time from spawning the process to its first request
//! for work, `GET /2018-06-01/runtime/invocation/next`, on a minimal Runtime API that this
//! module serves on loopback (it answers nothing; the process is killed once the request is in).

use crate::stats::Stats;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::process::Command;

const NEXT: &str = "GET /2018-06-01/runtime/invocation/next";

/// Starts `binary` `starts` times with `env` and times each start up to its first `next`.
pub async fn measure(binary: &Path, env: &[(&str, &str)], starts: usize) -> Result<Stats, String> {
    let mut samples = Vec::with_capacity(starts);
    for _ in 0..starts {
        samples.push(once(binary, env).await?);
    }
    Ok(Stats::of(samples))
}

async fn once(binary: &Path, env: &[(&str, &str)]) -> Result<Duration, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let api = listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    let name = binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("RUST_LOG", "error")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let wait = async {
        let (mut conn, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while !buf.windows(2).any(|w| w == b"\r\n") {
            let n = conn.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed before a request".to_string());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let took = started.elapsed();
        let line = String::from_utf8_lossy(&buf);
        if line.starts_with(NEXT) {
            Ok(took)
        } else {
            Err(format!(
                "first request was not `next`: {}",
                line.lines().next().unwrap_or("")
            ))
        }
    };
    let result = tokio::select! {
        r = wait => r,
        status = child.wait() => {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err).await;
            }
            Err(format!("{name} exited during init ({status:?}): {err}"))
        }
        _ = tokio::time::sleep(Duration::from_secs(10)) => Err(format!("{name}: no `next` within 10 s")),
    };
    let _ = child.kill().await;
    result
}
