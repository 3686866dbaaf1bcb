//! `user`, `token` and `audit`: accounts, API tokens and the audit record from the command
//! line. Changes work on a running gateway's data directory and take effect at its next
//! request (the gateway reads accounts and tokens from the store on every request).

use std::io::{BufRead, IsTerminal, Write};

use chrono::Utc;
use clap::{Args, Subcommand};

use crate::config::Config;
use crate::people::accounts::{self, Membership, UserSpec};
use crate::people::{Actor, Role};
use crate::store::Store;
use crate::store::audit::{AuditFilter, ChainCheck};

/// Who the change is recorded under.
#[derive(Debug, Args)]
pub struct AsUser {
    /// Record the change under this user (an enabled account); without it, under the local
    /// operator (`cli:<system user>`), e.g. to create the first admin.
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,
}

/// Roles and queues of an account.
#[derive(Debug, Args)]
pub struct MembershipArgs {
    /// A role: admin, triage, investigator, supervisor (repeat for more).
    #[arg(long = "role", value_name = "ROLE", required = true)]
    pub roles: Vec<Role>,
    /// A queue (routing-file key) the investigator works (repeat for more).
    #[arg(long = "queue", value_name = "KEY")]
    pub queues: Vec<String>,
    /// A queue the investigator leads (implies --queue KEY).
    #[arg(long = "lead", value_name = "KEY")]
    pub leads: Vec<String>,
}

impl MembershipArgs {
    fn membership(&self) -> Membership {
        Membership::new(self.roles.clone(), &self.queues, &self.leads)
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (asks for a password on a terminal; --no-password for a
    /// token-only account).
    Add {
        name: String,
        #[command(flatten)]
        membership: MembershipArgs,
        /// Where notices for the user's queues go.
        #[arg(long)]
        email: Option<String>,
        /// The name shown to colleagues.
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "no_password")]
        password_stdin: bool,
        /// No password: the account uses tokens until one is set.
        #[arg(long)]
        no_password: bool,
        #[command(flatten)]
        actor: AsUser,
    },
    /// List accounts with roles, queues and state.
    List,
    /// Set a user's password (ends the user's sessions).
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        actor: AsUser,
    },
    /// Disable an account (its tokens and sessions stop working at once).
    Disable {
        name: String,
        #[command(flatten)]
        actor: AsUser,
    },
    /// Enable a disabled account.
    Enable {
        name: String,
        #[command(flatten)]
        actor: AsUser,
    },
    /// Replace a user's roles and queues.
    Roles {
        name: String,
        #[command(flatten)]
        membership: MembershipArgs,
        #[command(flatten)]
        actor: AsUser,
    },
    /// Unlock an account locked after failed logins.
    Unlock {
        name: String,
        #[command(flatten)]
        actor: AsUser,
    },
    /// Mark an investigator away: their units' automatic assignment skips them.
    Away {
        name: String,
        #[command(flatten)]
        actor: AsUser,
    },
    /// Mark an investigator back from away.
    Back {
        name: String,
        #[command(flatten)]
        actor: AsUser,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; it is printed once and kept only as a hash.
    Create {
        #[arg(long)]
        user: String,
        /// What the token is for, e.g. "reporting script".
        #[arg(long)]
        name: String,
        /// Lifetime such as 90d, 12h or 30m (default: no expiry).
        #[arg(long)]
        expires: Option<String>,
        #[command(flatten)]
        actor: AsUser,
    },
    /// List tokens (id, user, name, state, last use); never their secrets.
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by id (the first part after `cgt_`).
    Revoke {
        id: String,
        #[command(flatten)]
        actor: AsUser,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the audit chain and name the first entry that does not match.
    Verify,
    /// List audit entries.
    List {
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        action: Option<String>,
        #[arg(long)]
        case: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

/// The actor of a change: `--as USER` (must exist and be enabled) or the local operator.
pub(super) async fn actor(store: &Store, as_user: &AsUser) -> anyhow::Result<Actor> {
    let Some(name) = &as_user.as_user else {
        return Ok(Actor::LocalOperator(std::env::var("USER").ok()));
    };
    match store.user(name).await? {
        Some(user) if !user.disabled => Ok(Actor::User(user.name)),
        Some(_) => anyhow::bail!("--as {name}: the account is disabled"),
        None => anyhow::bail!("--as {name}: no such user (`complaint-gateway user list`)"),
    }
}

/// Reads a password: the first line of standard input, or twice from the terminal without
/// echo.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if from_stdin || !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = prompt_hidden("password: ")?;
    let second = prompt_hidden("again: ")?;
    if first != second {
        anyhow::bail!("the two passwords differ");
    }
    Ok(first)
}

/// Prompts on the terminal with echo turned off for the answer.
fn prompt_hidden(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let fd = libc::STDIN_FILENO;
    // SAFETY: tcgetattr/tcsetattr on standard input with a zeroed termios the call fills.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    let echo_off = unsafe { libc::tcgetattr(fd, &mut saved) } == 0 && {
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) == 0 }
    };
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if echo_off {
        // SAFETY: restores the settings read above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
        eprintln!();
    }
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn known_queues(config: &Config) -> anyhow::Result<impl Fn(&str) -> bool> {
    let routing = config.routing.load()?;
    Ok(move |key: &str| routing.queues.contains_key(key))
}

pub async fn run_user(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let result = user_command(config, &store, command).await;
    store.close().await;
    result
}

async fn user_command(config: &Config, store: &Store, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            name,
            membership,
            email,
            display_name,
            password_stdin,
            no_password,
            actor: as_user,
        } => {
            let actor = actor(store, &as_user).await?;
            let password = (!no_password)
                .then(|| read_password(password_stdin))
                .transpose()?;
            let spec = UserSpec {
                name: name.clone(),
                display_name,
                email,
                password,
                membership: membership.membership(),
            };
            let roles: Vec<&str> = spec.membership.roles.iter().map(|r| r.as_str()).collect();
            let roles = roles.join(", ");
            accounts::add_user(store, &actor, spec, &known_queues(config)?).await?;
            println!("user {name} created ({roles})");
        }
        UserCommand::List => {
            let users = store.users().await?;
            if users.is_empty() {
                println!("no users yet: `complaint-gateway user add NAME --role admin`");
            }
            for user in users {
                let queues: Vec<String> = user
                    .queues
                    .iter()
                    .map(|q| format!("{}{}", q.queue, if q.lead { " (lead)" } else { "" }))
                    .collect();
                let state = match (user.disabled, &user.locked_at) {
                    (true, _) => "disabled",
                    (false, Some(_)) => "locked",
                    (false, None) => "active",
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    user.name,
                    user.roles.join(","),
                    if queues.is_empty() {
                        "-".into()
                    } else {
                        queues.join(",")
                    },
                    state,
                    user.email.as_deref().unwrap_or("-"),
                );
            }
        }
        UserCommand::Passwd {
            name,
            password_stdin,
            actor: as_user,
        } => {
            let actor = actor(store, &as_user).await?;
            let password = read_password(password_stdin)?;
            accounts::set_password(store, &actor, &name, &password).await?;
            println!("password of {name} set; the user's sessions ended");
        }
        UserCommand::Disable { name, actor: a } => {
            accounts::set_disabled(store, &actor(store, &a).await?, &name, true).await?;
            println!("user {name} disabled; its tokens and sessions no longer work");
        }
        UserCommand::Enable { name, actor: a } => {
            accounts::set_disabled(store, &actor(store, &a).await?, &name, false).await?;
            println!("user {name} enabled");
        }
        UserCommand::Roles {
            name,
            membership,
            actor: a,
        } => {
            let actor = actor(store, &a).await?;
            let membership = membership.membership();
            accounts::set_roles(store, &actor, &name, &membership, &known_queues(config)?).await?;
            println!("roles of {name} replaced");
        }
        UserCommand::Unlock { name, actor: a } => {
            accounts::unlock(store, &actor(store, &a).await?, &name).await?;
            println!("user {name} unlocked");
        }
        UserCommand::Away { name, actor: a } => {
            accounts::set_away(store, &actor(store, &a).await?, &name, true).await?;
            println!("user {name} is away: automatic assignment skips them");
        }
        UserCommand::Back { name, actor: a } => {
            accounts::set_away(store, &actor(store, &a).await?, &name, false).await?;
            println!("user {name} is back");
        }
    }
    Ok(())
}

pub async fn run_token(config: &Config, command: TokenCommand) -> anyhow::Result<()> {
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let result = token_command(&store, command).await;
    store.close().await;
    result
}

async fn token_command(store: &Store, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            user,
            name,
            expires,
            actor: a,
        } => {
            let actor = actor(store, &a).await?;
            let expires_at = expires
                .as_deref()
                .map(accounts::parse_lifetime)
                .transpose()
                .map_err(anyhow::Error::msg)?
                .map(|lifetime| Utc::now() + lifetime);
            let minted = accounts::create_token(store, &actor, &user, &name, expires_at).await?;
            eprintln!(
                "token {} for {user} created{}; it is shown once, keep it now:",
                minted.id,
                expires_at
                    .map(|t| format!(", valid until {}", t.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default()
            );
            println!("{}", minted.text);
        }
        TokenCommand::List { user } => {
            let now = Utc::now();
            for token in store.tokens(user.as_deref()).await? {
                println!(
                    "{}\t{}\t{}\t{}\tcreated {}\tlast used {}",
                    token.id,
                    token.user,
                    token.name,
                    accounts::token_state(&token, now),
                    token.created_at,
                    token.last_used_at.as_deref().unwrap_or("never"),
                );
            }
        }
        TokenCommand::Revoke { id, actor: a } => {
            accounts::revoke_token(store, &actor(store, &a).await?, &id).await?;
            println!("token {id} revoked");
        }
    }
    Ok(())
}

pub async fn run_audit(config: &Config, command: AuditCommand) -> anyhow::Result<()> {
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let result = audit_command(&store, command).await;
    store.close().await;
    result
}

async fn audit_command(store: &Store, command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify => {
            let mut check = ChainCheck::default();
            let mut after = 0;
            loop {
                let page = store.audit_chain(after, 5_000).await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                for record in &page {
                    if let Err(broken) = check.next(record) {
                        anyhow::bail!(
                            "the audit record is broken: {broken} ({} entries before it verified)",
                            check.checked()
                        );
                    }
                }
            }
            let (seq, head) = check.head();
            println!(
                "audit record intact: {} entries; the last is {seq} with hash {head} \
                 (keep this line elsewhere to detect a removed tail later)",
                check.checked()
            );
        }
        AuditCommand::List {
            actor,
            action,
            case,
            limit,
        } => {
            let filter = AuditFilter {
                actor,
                action,
                case_id: case,
                limit,
                ..AuditFilter::default()
            };
            for r in store.audit_entries(&filter).await? {
                let e = &r.event;
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    r.seq,
                    e.at,
                    e.actor,
                    e.action,
                    e.case_id.as_deref().unwrap_or("-"),
                    e.detail
                );
            }
        }
    }
    Ok(())
}
