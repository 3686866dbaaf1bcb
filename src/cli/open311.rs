//! `open311 client add|list|disable`: the Open311 server's clients. A new client's api_key is
//! printed once and kept only as a hash; changes take effect at a running gateway's next
//! request (keys are read from the store on every request).

use clap::Subcommand;

use super::people::{AsUser, actor};
use crate::config::Config;
use crate::open311::clients;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum Open311Command {
    /// The server's clients (apps): add, list, disable.
    #[command(subcommand)]
    Client(ClientCommand),
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; its api_key is printed once.
    Add {
        /// a-z, 0-9, `-`, `_`; its requests come from source `open311:NAME`.
        name: String,
        #[command(flatten)]
        actor: AsUser,
    },
    /// List the clients (name, key id, state, who registered it and when); never their keys.
    List,
    /// Disable a client: its key is refused from its next request on.
    Disable {
        name: String,
        #[command(flatten)]
        actor: AsUser,
    },
}

pub async fn run(config: &Config, command: Open311Command) -> anyhow::Result<()> {
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let result = client_command(&store, command).await;
    store.close().await;
    result
}

async fn client_command(store: &Store, command: Open311Command) -> anyhow::Result<()> {
    let Open311Command::Client(command) = command;
    match command {
        ClientCommand::Add { name, actor: a } => {
            let actor = actor(store, &a).await?;
            let minted = clients::add(store, &actor, &name).await?;
            eprintln!(
                "Open311 client {name} registered (key {}); its api_key is shown once, keep it now:",
                minted.id
            );
            println!("{}", minted.text);
        }
        ClientCommand::List => {
            let listed = store.open311_clients().await?;
            if listed.is_empty() {
                println!("no Open311 clients yet: `complaint-gateway open311 client add NAME`");
            }
            for client in listed {
                println!(
                    "{}\t{}\t{}\tcreated {} by {}",
                    client.name,
                    client.key_id,
                    if client.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "active"
                    },
                    client.created_at,
                    client.created_by,
                );
            }
        }
        ClientCommand::Disable { name, actor: a } => {
            clients::disable(store, &actor(store, &a).await?, &name).await?;
            println!("Open311 client {name} disabled; its api_key no longer works");
        }
    }
    Ok(())
}
