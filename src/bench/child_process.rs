//! A gateway run as a child process of the benchmark (`bench soak`): the figures read from
//! /proc (memory, descriptors, CPU) are the gateway's own, not the load generator's.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// A running gateway process.
pub struct ChildGateway {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub pid: u32,
    child: Child,
}

impl ChildGateway {
    /// Starts `complaint-gateway --config CONFIG serve` (this very executable) on a free
    /// loopback port, its log appended to `log`, and waits (at most `ready_within`) until
    /// `/readyz` answers. With a `wrapper` (a command line such as `heaptrack -o FILE`), the
    /// gateway runs under it, and `pid` is the gateway's own process, found below it.
    pub async fn start(
        config: &Path,
        log: &Path,
        wrapper: Option<&str>,
        client: &reqwest::Client,
        ready_within: Duration,
    ) -> anyhow::Result<ChildGateway> {
        // A port the system says is free; released again for the gateway to bind.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let exe = std::env::current_exe()?;
        let mut words = wrapper.unwrap_or_default().split_whitespace();
        let mut command = match words.next() {
            Some(program) => {
                let mut command = Command::new(program);
                command.args(words).arg(&exe);
                command
            }
            None => Command::new(&exe),
        };
        let mut child = command
            .arg("--config")
            .arg(config)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start the gateway process: {e}"))?;
        let child_pid = child
            .id()
            .ok_or_else(|| anyhow::anyhow!("the gateway process exited at once"))?;
        super::in_process::wait_until_ready(client, &base, ready_within, || {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("the gateway process stopped while starting ({status})");
            }
            Ok(())
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}; see {}", log.display()))?;
        let pid = if wrapper.is_some() {
            gateway_below(&exe, config).ok_or_else(|| {
                anyhow::anyhow!(
                    "the gateway answers, but its process is not found under the wrapper"
                )
            })?
        } else {
            child_pid
        };
        Ok(ChildGateway { base, pid, child })
    }

    /// Asks the gateway to stop (SIGTERM, as a service manager would) and waits a minute at
    /// most before killing it, saying what went wrong if anything.
    pub async fn stop(mut self) {
        // SAFETY: kill only sends a signal to the process we started (not yet reaped).
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        // A wrapper (a heap tracer) may take a while to write its results after the gateway.
        match tokio::time::timeout(Duration::from_secs(300), self.child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => println!("the gateway process stopped with {status}"),
            Ok(Err(e)) => println!("cannot wait for the gateway process: {e}"),
            Err(_) => {
                println!("the gateway had not stopped 300 s after SIGTERM; killed");
                let _ = self.child.kill().await;
            }
        }
    }
}

/// The process running `exe` with `config` on its command line (other than this one).
fn gateway_below(exe: &Path, config: &Path) -> Option<u32> {
    let config = config.as_os_str().as_encoded_bytes();
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id())
        .find(|pid| {
            let runs_exe = std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == exe);
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            runs_exe && cmdline.split(|b| *b == 0).any(|arg| arg == config)
        })
}
