//! The data and accounts of `bench console`: N generated complaints imported into a data dir
//! through `import` (the intake, the whole pipeline and the search index, as an operator's
//! import runs them), a few refused records for 死信, and one signed-in user per role.

use std::path::Path;
use std::time::Instant;

use crate::config::Config;
use crate::people::Role;

/// Every bench account's password (local loopback data only).
pub const PASSWORD: &str = "bench-console-password";

/// Records of the corpus file that the intake refuses (no text): they become dead letters.
const REFUSED: u64 = 5;

/// Loads `docs` generated complaints into `config`'s data dir unless the marker in `dir` says
/// it holds them already. `import` returns once the pipeline and the index have caught up.
pub async fn load(config: &Config, dir: &Path, docs: u64, seed: u64) -> anyhow::Result<()> {
    let marker = dir.join("bench-console-docs");
    let have: Option<u64> = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|t| t.trim().parse().ok());
    if have == Some(docs) {
        return Ok(());
    }
    anyhow::ensure!(
        have.is_none(),
        "{} holds {} complaints of an earlier run; use another --data-dir",
        dir.display(),
        have.unwrap_or(0)
    );
    let file = dir.join("corpus.jsonl");
    super::write_corpus(docs, seed, &file)?;
    {
        use std::io::Write;
        let mut out = std::fs::OpenOptions::new().append(true).open(&file)?;
        for n in 0..REFUSED {
            writeln!(
                out,
                "{{\"external_id\":\"refused-{n}\",\"title\":\"\",\"body\":\"\"}}"
            )?;
        }
    }
    let started = Instant::now();
    let args = crate::cli::import::ImportArgs {
        files: vec![file.clone()],
        source: "bench".into(),
        channel: None,
        format: None,
        map: Vec::new(),
        historical: false,
    };
    crate::cli::import::run(config, args).await?;
    std::fs::write(&marker, docs.to_string())?;
    let _ = std::fs::remove_file(&file);
    println!(
        "imported {docs} complaints with the pipeline and the index in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The bench's accounts: (name, role, the queue of an investigator).
pub fn accounts(queues: &[String]) -> Vec<(String, Role, Option<String>)> {
    let mut accounts = vec![
        ("bench-admin".to_string(), Role::Admin, None),
        ("bench-triage".to_string(), Role::Triage, None),
        ("bench-supervisor".to_string(), Role::Supervisor, None),
    ];
    for queue in queues {
        accounts.push((
            format!("bench-inv-{queue}"),
            Role::Investigator,
            Some(queue.clone()),
        ));
    }
    accounts
}

/// Creates the accounts that do not exist yet, with [`PASSWORD`], and a triage token (to list
/// cases and dead letters through the API when choosing what to ask for).
pub async fn create_accounts(
    config: &Config,
    accounts: &[(String, Role, Option<String>)],
) -> anyhow::Result<String> {
    use crate::people::accounts::{Membership, UserSpec, add_user, create_token};
    let store =
        crate::store::Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let actor = crate::people::Actor::LocalOperator(Some("bench".into()));
    for (name, role, queue) in accounts {
        if store.user(name).await?.is_some() {
            continue;
        }
        let spec = UserSpec {
            name: name.clone(),
            display_name: None,
            email: None,
            password: Some(PASSWORD.into()),
            membership: Membership {
                roles: vec![*role],
                queues: queue
                    .iter()
                    .map(|q| crate::store::people::QueueMembership {
                        queue: q.clone(),
                        lead: false,
                    })
                    .collect(),
            },
        };
        add_user(&store, &actor, spec, &|_| true).await?;
    }
    let token = create_token(&store, &actor, "bench-triage", "bench", None)
        .await?
        .text;
    store.close().await;
    Ok(token)
}
