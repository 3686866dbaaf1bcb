//! The data and accounts of `bench console`: N generated complaints imported into a data dir
//! through `import` (the intake, the whole pipeline and the search index, as an operator's
//! import runs them) — an archive and the live complaints of the last two weeks, as a centre
//! holds them once it has loaded its history — a few refused records for 死信, and one
//! signed-in user per role.

use std::path::Path;
use std::time::Instant;

use crate::config::Config;
use crate::people::Role;

/// Every bench account's password (local loopback data only).
pub const PASSWORD: &str = "bench-console-password";

/// Records of the corpus file that the intake refuses (no text): they become dead letters.
const REFUSED: u64 = 5;

/// Days over which the live complaints arrived.
const LIVE_DAYS: u64 = 14;

/// Loads `docs` generated complaints into `config`'s data dir unless the marker in `dir` says
/// it holds them already: the first `docs - live` as an archive (`import --historical`), the
/// last `live` as arriving over the last [`LIVE_DAYS`] days (the whole pipeline: deadlines,
/// routing into the units' queues). Each `import` returns once the pipeline and the index have
/// caught up.
pub async fn load(
    config: &Config,
    dir: &Path,
    docs: u64,
    live: u64,
    seed: u64,
) -> anyhow::Result<()> {
    let marker = dir.join("bench-console-docs");
    let wanted = format!("{docs} {live}");
    let have = std::fs::read_to_string(&marker).ok();
    if have.as_deref().map(str::trim) == Some(wanted.as_str()) {
        return Ok(());
    }
    anyhow::ensure!(
        have.is_none(),
        "{} holds the complaints of an earlier run ({}: docs and live); use another --data-dir",
        dir.display(),
        have.unwrap_or_default().trim()
    );
    let started = Instant::now();
    let archive = docs - live;
    if archive > 0 {
        let file = dir.join("archive.jsonl");
        super::write_corpus_part(seed, 0..archive, None, &file)?;
        import(config, &file, true).await?;
    }
    let file = dir.join("live.jsonl");
    // Every complaint live: the flood, dated as generated (years back, all overdue).
    let redate = (archive > 0).then(|| (chrono::Utc::now(), LIVE_DAYS));
    super::write_corpus_part(seed, archive..docs, redate, &file)?;
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
    import(config, &file, false).await?;
    std::fs::write(&marker, &wanted)?;
    println!(
        "imported {archive} archived and {live} live complaints with the pipeline and the index \
         in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `import` of `file` from the source `bench`, as an archive when `historical`; the file is
/// removed afterwards.
async fn import(config: &Config, file: &Path, historical: bool) -> anyhow::Result<()> {
    let args = crate::cli::import::ImportArgs {
        files: vec![file.to_path_buf()],
        source: "bench".into(),
        channel: None,
        format: None,
        map: Vec::new(),
        historical,
    };
    crate::cli::import::run(config, args).await?;
    let _ = std::fs::remove_file(file);
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
