//! `dashkeep-broker`: serves the presign-only cloud mode until Ctrl-C.
//!
//! The store's keys come from the environment only (`DASHKEEP_S3_ACCESS_KEY`,
//! `DASHKEEP_S3_SECRET_KEY`, optional `DASHKEEP_S3_SESSION_TOKEN`): a command line shows in `ps`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use dashkeep_broker::{Accounts, Broker, new_token, token_hash};
use dashkeep_core::cloud::{RetrySettings, S3Backend, S3Config, Secret};

/// The presign-only cloud broker: phones hold a token, the broker holds the S3 keys and signs
/// each phone's requests inside `accounts/<its id>/`.
#[derive(Debug, Parser)]
#[command(name = "dashkeep-broker", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve.
    Serve {
        /// Address to listen on (behind a TLS-terminating proxy in production: phones refuse a
        /// plain-HTTP broker off loopback).
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// Tokens file: TOML `[accounts]` mapping each account id to its token's SHA-256.
        #[arg(long)]
        tokens: PathBuf,
        /// The S3 endpoint (default: AWS for the region).
        #[arg(long, env = "DASHKEEP_S3_ENDPOINT")]
        s3_endpoint: Option<String>,
        /// The bucket.
        #[arg(long, env = "DASHKEEP_S3_BUCKET")]
        s3_bucket: String,
        /// The region.
        #[arg(long, env = "DASHKEEP_S3_REGION", default_value = "us-east-1")]
        s3_region: String,
        /// Virtual-hosted-style URLs (AWS) instead of path-style (most self-hosted servers).
        #[arg(long)]
        virtual_hosted: bool,
        /// Do not bind parts to their SHA-256 (for stores that refuse flexible checksums).
        #[arg(long)]
        no_checksums: bool,
    },
    /// Makes a token for an account: prints the token (give it to the phone) and the line for
    /// the tokens file (its hash).
    Token {
        /// The account id.
        account: String,
    },
}

fn env_secret(name: &str) -> anyhow::Result<Secret> {
    std::env::var(name).map(Secret::new).with_context(|| format!("{name} is not set"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match Args::parse().command {
        Command::Token { account } => {
            let token = new_token();
            let mut check = Accounts::new();
            check.insert_token(&account, &token)?;
            println!("token: {token}\n[accounts] line: {account} = \"{}\"", token_hash(&token));
            Ok(())
        }
        Command::Serve {
            listen,
            tokens,
            s3_endpoint,
            s3_bucket,
            s3_region,
            virtual_hosted,
            no_checksums,
        } => {
            let text = std::fs::read_to_string(&tokens)
                .with_context(|| format!("reading {}", tokens.display()))?;
            let accounts = Accounts::from_toml(&text)?;
            let config = S3Config {
                endpoint: s3_endpoint,
                region: s3_region,
                bucket: s3_bucket,
                access_key: env_secret("DASHKEEP_S3_ACCESS_KEY")?,
                secret_key: env_secret("DASHKEEP_S3_SECRET_KEY")?,
                session_token: std::env::var("DASHKEEP_S3_SESSION_TOKEN").ok().map(Secret::new),
                credential_source: None,
                path_style: !virtual_hosted,
                part_checksums: !no_checksums,
            };
            let store = S3Backend::new(&config, &RetrySettings::default())?;
            let listener = tokio::net::TcpListener::bind(listen).await?;
            println!("dashkeep-broker listening on http://{}", listener.local_addr()?);
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            Broker::new(store, accounts).serve(listener, shutdown).await?;
            Ok(())
        }
    }
}
