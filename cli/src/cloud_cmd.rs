//! `dashkeep cloud ...`, `upload`, `share`, `delete`, `sync`, `download`, and where the cloud is
//! (flags, environment, or a config file).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use dashkeep_core::Companion;
use dashkeep_core::cloud::{
    BackendConfig, CloudConfig, CloudService, NetworkState, S3Config, Secret, UploadPolicy,
};
use serde::Deserialize;

use crate::output::bytes;

/// Where clips go. Flags and the environment win over the config file; without an S3 bucket, a
/// local directory stands in for the cloud. Credentials never come from a flag (a command line
/// shows in `ps` and shell history): only from the environment (`DASHKEEP_S3_ACCESS_KEY`,
/// `DASHKEEP_S3_SECRET_KEY`, `DASHKEEP_S3_SESSION_TOKEN`) or the config file.
#[derive(Args, Default)]
pub struct CloudArgs {
    /// A TOML file with a `[cloud]` table using the same names as these flags (keys only from
    /// the environment are safest).
    #[arg(long, global = true, env = "DASHKEEP_CONFIG")]
    pub config: Option<PathBuf>,
    /// A local directory that stands in for the cloud (default: next to the data directory).
    #[arg(long, global = true, env = "DASHKEEP_CLOUD_DIR")]
    pub cloud_dir: Option<PathBuf>,
    /// S3-compatible endpoint URL (AWS, MinIO, R2, Garage, Ceph).
    #[arg(long, global = true, env = "DASHKEEP_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// S3 bucket: setting it selects S3 over the local directory.
    #[arg(long, global = true, env = "DASHKEEP_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3 region.
    #[arg(long, global = true, env = "DASHKEEP_S3_REGION")]
    pub s3_region: Option<String>,
    /// Address buckets by path (most self-hosted servers) rather than by host name.
    #[arg(long, global = true, env = "DASHKEEP_S3_PATH_STYLE")]
    pub s3_path_style: bool,
    /// The account whose clips these are.
    #[arg(long, global = true, env = "DASHKEEP_ACCOUNT")]
    pub account: Option<String>,
    /// The network the phone is on, for commands that reach the cloud.
    #[arg(long, global = true, value_enum, default_value = "wifi")]
    pub network: NetworkArg,
}

/// The network, on the command line.
#[derive(Clone, Copy, Default, ValueEnum)]
pub enum NetworkArg {
    /// WiFi with internet.
    #[default]
    Wifi,
    /// Mobile data (metered).
    Cellular,
    /// No network.
    Offline,
}

impl From<NetworkArg> for NetworkState {
    fn from(n: NetworkArg) -> Self {
        match n {
            NetworkArg::Wifi => Self::WIFI,
            NetworkArg::Cellular => Self::CELLULAR,
            NetworkArg::Offline => Self::OFFLINE,
        }
    }
}

#[derive(Deserialize, Default)]
struct FileConfig {
    #[serde(default)]
    cloud: FileCloud,
}

#[derive(Deserialize, Default)]
struct FileCloud {
    cloud_dir: Option<PathBuf>,
    s3_endpoint: Option<String>,
    s3_bucket: Option<String>,
    s3_region: Option<String>,
    s3_access_key: Option<String>,
    s3_secret_key: Option<String>,
    s3_session_token: Option<String>,
    s3_path_style: Option<bool>,
    account: Option<String>,
}

/// A credential from the environment (never a flag); empty counts as unset.
fn env_secret(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl CloudArgs {
    /// The cloud configuration for a data directory.
    pub fn config(&self, data_dir: &Path) -> anyhow::Result<CloudConfig> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .with_context(|| format!("parsing {}", path.display()))?
                    .cloud
            }
            None => FileCloud::default(),
        };
        let account = self.account.clone().or(file.account).unwrap_or_else(|| "me".into());
        let backend = match self.s3_bucket.clone().or(file.s3_bucket) {
            Some(bucket) => BackendConfig::S3(S3Config {
                endpoint: self.s3_endpoint.clone().or(file.s3_endpoint),
                region: self
                    .s3_region
                    .clone()
                    .or(file.s3_region)
                    .unwrap_or_else(|| "us-east-1".into()),
                bucket,
                access_key: Secret::new(
                    env_secret("DASHKEEP_S3_ACCESS_KEY")
                        .or(file.s3_access_key)
                        .context("no S3 access key (DASHKEEP_S3_ACCESS_KEY or the config file)")?,
                ),
                secret_key: Secret::new(
                    env_secret("DASHKEEP_S3_SECRET_KEY")
                        .or(file.s3_secret_key)
                        .context("no S3 secret key (DASHKEEP_S3_SECRET_KEY or the config file)")?,
                ),
                session_token: env_secret("DASHKEEP_S3_SESSION_TOKEN")
                    .or(file.s3_session_token)
                    .map(Secret::new),
                credential_source: None,
                path_style: self.s3_path_style || file.s3_path_style.unwrap_or(false),
                part_checksums: true,
            }),
            None => BackendConfig::Local {
                root: self
                    .cloud_dir
                    .clone()
                    .or(file.cloud_dir)
                    .unwrap_or_else(|| sibling(data_dir)),
            },
        };
        Ok(CloudConfig::new(backend, account))
    }
}

/// `DATA_DIR-cloud`, beside the data directory: it survives deleting the data directory, as the
/// cloud survives reinstalling the app.
fn sibling(data_dir: &Path) -> PathBuf {
    let name = data_dir.file_name().map_or("dashkeep".into(), |n| n.to_string_lossy().into_owned());
    data_dir.with_file_name(format!("{name}-cloud"))
}

/// What `dashkeep cloud` does.
#[derive(Subcommand)]
pub enum CloudAction {
    /// The store, the network, the upload policy and the queue.
    Status {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Upload over WiFi only, or over WiFi and cellular (the default).
    Policy {
        /// The policy.
        #[arg(value_enum)]
        policy: PolicyArg,
    },
}

/// The upload policy, on the command line.
#[derive(Clone, Copy, ValueEnum)]
pub enum PolicyArg {
    /// Upload only over WiFi.
    WifiOnly,
    /// Upload over WiFi and cellular.
    WifiAndCellular,
}

fn cloud(companion: &Companion) -> anyhow::Result<&CloudService> {
    companion.cloud().context("no cloud is configured")
}

/// `dashkeep cloud status|policy`.
pub async fn cloud_cmd(companion: &Companion, action: CloudAction) -> anyhow::Result<()> {
    let cloud = cloud(companion)?;
    match action {
        CloudAction::Status { json } => {
            let s = cloud.status().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
                return Ok(());
            }
            println!("Cloud: {:?} store, account {}", s.backend, s.account);
            println!(
                "Network: {:?}; policy {:?}; uploading {}",
                s.network.kind,
                s.policy,
                if s.uploading_allowed { "allowed" } else { "paused" }
            );
            println!(
                "Clips: {} queued, {} uploading, {} uploaded, {} failed; {} to send; {} deletions pending",
                s.queued,
                s.uploading,
                s.uploaded,
                s.failed,
                bytes(s.bytes_pending),
                s.deletions_pending
            );
            if let Some(why) = s.stopped {
                println!("The queue is stopped: {why}");
            }
        }
        CloudAction::Policy { policy } => {
            let policy = match policy {
                PolicyArg::WifiOnly => UploadPolicy::WifiOnly,
                PolicyArg::WifiAndCellular => UploadPolicy::WifiAndCellular,
            };
            cloud.set_policy(policy).await?;
            println!("Upload policy: {policy:?}");
        }
    }
    Ok(())
}

/// `dashkeep upload [--clip ID]`: run the queue now, or send one clip now whatever the policy.
pub async fn upload(companion: &Companion, clip: Option<i64>, json: bool) -> anyhow::Result<()> {
    let cloud = cloud(companion)?;
    if let Some(id) = clip {
        let outcome = cloud.upload_now(id, true).await?;
        println!("Clip {id}: {outcome:?}");
        return Ok(());
    }
    let report = cloud.run_queue().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report:?}");
    }
    Ok(())
}

/// `dashkeep share CLIP`.
pub async fn share(companion: &Companion, clip: i64, hours: Option<u64>) -> anyhow::Result<()> {
    let expiry = hours.map(|h| Duration::from_secs(h.saturating_mul(3600)));
    println!("{}", cloud(companion)?.share_url(clip, expiry).await?);
    Ok(())
}

/// `dashkeep delete CLIP`: from the phone and the cloud (when one is set), for good.
pub async fn delete(companion: &Companion, clip: i64) -> anyhow::Result<()> {
    let outcome = companion.delete_clip(clip).await?;
    println!("Clip {clip}: {outcome:?}");
    Ok(())
}

/// `dashkeep sync`: list the account's clips from the cloud (after a reinstall).
pub async fn sync(companion: &Companion, json: bool) -> anyhow::Result<()> {
    let report = cloud(companion)?.sync_from_cloud().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} clips restored from the cloud, {} known already, {} invalid",
            report.added, report.skipped, report.invalid
        );
    }
    Ok(())
}

/// `dashkeep download CLIP`.
pub async fn download(companion: &Companion, clip: i64) -> anyhow::Result<()> {
    let path = cloud(companion)?.download(clip).await?;
    println!("{}", path.display());
    Ok(())
}
