//! A gateway run inside the benchmark's own process on a loopback port (`bench soak`,
//! `bench workflow`): started, waited for until ready, stopped at the end.

use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Polls `base`'s `/readyz` until it answers 2xx, at most `ready_within`; `alive` fails the
/// wait at once when the gateway is known to have stopped.
pub async fn wait_until_ready(
    client: &reqwest::Client,
    base: &str,
    ready_within: Duration,
    mut alive: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    while !client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        alive()?;
        anyhow::ensure!(
            started.elapsed() < ready_within,
            "gateway not ready after {ready_within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// A running gateway.
pub struct Gateway {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Gateway {
    /// Starts `config`'s gateway and waits (at most `ready_within`) until `/readyz` answers.
    pub async fn start(
        config: crate::config::Config,
        client: &reqwest::Client,
        ready_within: Duration,
    ) -> anyhow::Result<Gateway> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::app::run(config, listener, async move {
            let _ = stopped.await;
        }));
        wait_until_ready(client, &base, ready_within, || {
            anyhow::ensure!(!task.is_finished(), "the gateway stopped while starting");
            Ok(())
        })
        .await?;
        Ok(Gateway { base, stop, task })
    }

    /// Asks the gateway to stop and waits a minute at most, saying what went wrong if anything.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        match tokio::time::timeout(Duration::from_secs(60), self.task).await {
            Ok(Ok(Err(e))) => println!("the gateway stopped with an error: {e:#}"),
            Ok(Err(e)) => println!("the gateway task failed: {e}"),
            Err(_) => println!("the gateway had not stopped 60 s after the shutdown signal"),
            Ok(Ok(Ok(()))) => {}
        }
    }
}
