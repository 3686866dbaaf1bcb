//! `[deadlines]`, `[notify]` and `[email]` of gateway.toml: deadline policies per priority, the
//! scheduler's reminder and overdue settings, the email templates' directory, and SMTP
//! delivery. Defaults live here, mirrored in
//! `config/gateway.toml`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveTime;
use serde::Deserialize;

/// Deadlines, reminders, overdue notices and escalation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlinesConfig {
    /// Directory of the yearly working-day calendars (`<year>.toml`); relative to the working
    /// directory. The years shipped with the gateway are embedded; files here override them.
    #[serde(default = "defaults::calendar_dir")]
    pub calendar_dir: PathBuf,
    /// When a deadline counted in working days ends, local time (`HH:MM`).
    #[serde(default = "defaults::working_day_end")]
    pub working_day_end: String,
    /// UTC offset, in hours, of the working day (China Standard Time).
    #[serde(default = "defaults::utc_offset_hours")]
    pub utc_offset_hours: i32,
    /// Seconds between scheduler runs in `serve`.
    #[serde(default = "defaults::tick_interval_secs")]
    pub tick_interval_secs: u64,
    /// Hours between repeated overdue notices of one case.
    #[serde(default = "defaults::overdue_repeat_hours")]
    pub overdue_repeat_hours: u32,
    /// Overdue notices after which a case is escalated (once).
    #[serde(default = "defaults::escalate_after_notices")]
    pub escalate_after_notices: u32,
    /// Addresses an escalation goes to, besides the queue's supervisor.
    #[serde(default)]
    pub escalation_emails: Vec<String>,
    /// Local time (`HH:MM`) after which the daily digest of each queue is sent.
    #[serde(default = "defaults::digest_time")]
    pub digest_time: String,
    /// Policy per priority (`urgent`, `high`, `normal`, `low`, or any other name routing uses).
    #[serde(default = "defaults::policies")]
    pub policies: BTreeMap<String, DeadlinePolicy>,
}

/// How long a priority has: clock hours or working days (exactly one of them).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlinePolicy {
    /// Clock hours from assignment (urgent cases run around the clock).
    #[serde(default)]
    pub hours: Option<u32>,
    /// Working days after the day of assignment, ending at `working_day_end`.
    #[serde(default)]
    pub working_days: Option<u32>,
    /// How long before the deadline the reminder (催办) goes out, in minutes.
    pub remind_before_minutes: u32,
}

/// SMTP delivery of the outbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Deliver the outbox. When false, notifications still fill the outbox (nothing is lost)
    /// and are delivered once this is turned on.
    #[serde(default)]
    pub enabled: bool,
    /// SMTP server host name.
    #[serde(default = "defaults::smtp_host")]
    pub smtp_host: String,
    /// SMTP port (587 STARTTLS, 465 implicit TLS, 25 plain).
    #[serde(default = "defaults::smtp_port")]
    pub smtp_port: u16,
    /// `starttls`, `tls` (implicit) or `plain` (only on a trusted network or for tests).
    #[serde(default)]
    pub security: SmtpSecurity,
    /// Environment variable holding the SMTP user name (no authentication when unset).
    #[serde(default = "defaults::username_env")]
    pub username_env: String,
    /// Environment variable holding the SMTP password.
    #[serde(default = "defaults::password_env")]
    pub password_env: String,
    /// Sender address, e.g. `效能投诉中心 <noreply@example.gov.cn>`.
    #[serde(default = "defaults::from")]
    pub from: String,
    /// Domain of generated Message-IDs.
    #[serde(default = "defaults::message_id_domain")]
    pub message_id_domain: String,
    /// Base URL of the triage console; emails link to `<console_url>/cases/<id>`. When not set,
    /// `serve` uses the address it listens on (`http://<address>:<port>/console`).
    #[serde(default = "defaults::console_url")]
    pub console_url: String,
    /// Seconds between outbox polls of the delivery worker.
    #[serde(default = "defaults::poll_interval_secs")]
    pub poll_interval_secs: u64,
    /// Delay before the first retry, in seconds; doubles per attempt up to `retry_max_secs`.
    #[serde(default = "defaults::retry_initial_secs")]
    pub retry_initial_secs: u64,
    /// Longest delay between retries, in seconds.
    #[serde(default = "defaults::retry_max_secs")]
    pub retry_max_secs: u64,
    /// Attempts per recipient before it is marked failed.
    #[serde(default = "defaults::max_attempts")]
    pub max_attempts: u32,
    /// How long a worker owns a claimed message, in seconds; after a crash another worker
    /// takes it over when the lease has run out.
    #[serde(default = "defaults::lease_secs")]
    pub lease_secs: u64,
    /// SMTP command timeout, in seconds.
    #[serde(default = "defaults::timeout_secs")]
    pub timeout_secs: u64,
    /// PEM file of root certificates trusted beside the public ones (`starttls` and `tls`),
    /// e.g. the government network's own certificate authority. Unset: public roots only.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
}

/// `[notify]`: the email templates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Directory of edited email templates (`<notice>.txt`); relative to the working
    /// directory. Each file replaces the built-in template of the same name; a missing
    /// directory replaces none.
    #[serde(default = "defaults::templates_dir")]
    pub templates_dir: PathBuf,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            templates_dir: defaults::templates_dir(),
        }
    }
}

/// Transport security of the SMTP connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    #[default]
    Starttls,
    Tls,
    Plain,
}

impl DeadlinesConfig {
    /// `working_day_end` parsed.
    pub fn day_end(&self) -> Result<NaiveTime, String> {
        NaiveTime::parse_from_str(&self.working_day_end, "%H:%M").map_err(|_| {
            format!(
                "deadlines.working_day_end = `{}` is not HH:MM",
                self.working_day_end
            )
        })
    }

    /// `digest_time` parsed.
    pub fn digest_at(&self) -> Result<NaiveTime, String> {
        NaiveTime::parse_from_str(&self.digest_time, "%H:%M").map_err(|_| {
            format!(
                "deadlines.digest_time = `{}` is not HH:MM",
                self.digest_time
            )
        })
    }

    /// The offset deadlines are expressed in.
    pub fn offset(&self) -> chrono::FixedOffset {
        chrono::FixedOffset::east_opt(self.utc_offset_hours * 3600)
            .unwrap_or_else(|| chrono::FixedOffset::east_opt(8 * 3600).expect("valid"))
    }

    /// Checks the section (called from `Config::validate`).
    pub fn validate(&self) -> Result<(), String> {
        self.day_end()?;
        self.digest_at()?;
        if !(-12..=14).contains(&self.utc_offset_hours) {
            return Err("deadlines.utc_offset_hours is not between -12 and 14".into());
        }
        for (name, policy) in &self.policies {
            match (policy.hours, policy.working_days) {
                (Some(h), None) if h > 0 => {}
                (None, Some(d)) if d > 0 => {}
                _ => {
                    return Err(format!(
                        "deadlines.policies.{name}: set exactly one of `hours` or `working_days`, \
                         at least 1"
                    ));
                }
            }
        }
        if self.escalate_after_notices == 0 || self.overdue_repeat_hours == 0 {
            return Err(
                "deadlines.escalate_after_notices and overdue_repeat_hours must be at least 1"
                    .into(),
            );
        }
        Ok(())
    }
}

impl Default for DeadlinesConfig {
    fn default() -> Self {
        DeadlinesConfig {
            calendar_dir: defaults::calendar_dir(),
            working_day_end: defaults::working_day_end(),
            utc_offset_hours: defaults::utc_offset_hours(),
            tick_interval_secs: defaults::tick_interval_secs(),
            overdue_repeat_hours: defaults::overdue_repeat_hours(),
            escalate_after_notices: defaults::escalate_after_notices(),
            escalation_emails: Vec::new(),
            digest_time: defaults::digest_time(),
            policies: defaults::policies(),
        }
    }
}

impl EmailConfig {
    /// Whether `console_url` is the built-in default (so `serve` may put its own address).
    pub fn console_url_unset(&self) -> bool {
        self.console_url == defaults::console_url()
    }
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            enabled: false,
            smtp_host: defaults::smtp_host(),
            smtp_port: defaults::smtp_port(),
            security: SmtpSecurity::default(),
            username_env: defaults::username_env(),
            password_env: defaults::password_env(),
            from: defaults::from(),
            message_id_domain: defaults::message_id_domain(),
            console_url: defaults::console_url(),
            poll_interval_secs: defaults::poll_interval_secs(),
            retry_initial_secs: defaults::retry_initial_secs(),
            retry_max_secs: defaults::retry_max_secs(),
            max_attempts: defaults::max_attempts(),
            lease_secs: defaults::lease_secs(),
            timeout_secs: defaults::timeout_secs(),
            ca_file: None,
        }
    }
}

mod defaults {
    use super::DeadlinePolicy;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    pub fn calendar_dir() -> PathBuf {
        PathBuf::from("config/calendar")
    }
    pub fn templates_dir() -> PathBuf {
        PathBuf::from("config/templates/mail")
    }
    pub fn working_day_end() -> String {
        "17:30".into()
    }
    pub fn utc_offset_hours() -> i32 {
        8
    }
    pub fn tick_interval_secs() -> u64 {
        60
    }
    pub fn overdue_repeat_hours() -> u32 {
        24
    }
    pub fn escalate_after_notices() -> u32 {
        2
    }
    pub fn digest_time() -> String {
        "08:30".into()
    }
    pub fn policies() -> BTreeMap<String, DeadlinePolicy> {
        let policy = |hours, working_days, remind_before_minutes| DeadlinePolicy {
            hours,
            working_days,
            remind_before_minutes,
        };
        BTreeMap::from([
            ("urgent".to_string(), policy(Some(2), None, 30)),
            ("high".to_string(), policy(Some(24), None, 240)),
            ("normal".to_string(), policy(None, Some(7), 24 * 60)),
            ("low".to_string(), policy(None, Some(15), 48 * 60)),
        ])
    }
    pub fn smtp_host() -> String {
        "localhost".into()
    }
    pub fn smtp_port() -> u16 {
        587
    }
    pub fn username_env() -> String {
        "COMPLAINT_GATEWAY_SMTP_USER".into()
    }
    pub fn password_env() -> String {
        "COMPLAINT_GATEWAY_SMTP_PASSWORD".into()
    }
    pub fn from() -> String {
        "效能投诉中心 <noreply@complaints.example.gov.cn>".into()
    }
    pub fn message_id_domain() -> String {
        "complaints.example.gov.cn".into()
    }
    pub fn console_url() -> String {
        "http://127.0.0.1:8080/console".into()
    }
    pub fn poll_interval_secs() -> u64 {
        5
    }
    pub fn retry_initial_secs() -> u64 {
        30
    }
    pub fn retry_max_secs() -> u64 {
        3600
    }
    pub fn max_attempts() -> u32 {
        8
    }
    pub fn lease_secs() -> u64 {
        120
    }
    pub fn timeout_secs() -> u64 {
        30
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn defaults_match_the_embedded_file_and_misspelt_keys_are_named() {
        let config = Config::load(None).unwrap();
        assert!(!config.email.enabled, "email is off by default");
        assert_eq!(config.deadlines.policies.len(), 4);
        assert_eq!(config.deadlines.policies["normal"].working_days, Some(7));
        assert_eq!(config.deadlines.policies["urgent"].hours, Some(2));
        assert_eq!(config.deadlines.working_day_end, "17:30");
        let err = Config::from_toml("[email]\nsmtp_hots = \"x\"", "t").unwrap_err();
        assert!(err.to_string().contains("smtp_hots"), "{err}");
        let err = Config::from_toml("[email]\nsecurity = \"ssl\"", "t").unwrap_err();
        assert!(err.to_string().contains("ssl"), "{err}");
        let both =
            "[deadlines.policies.normal]\nhours = 1\nworking_days = 2\nremind_before_minutes = 1";
        let err = Config::from_toml(both, "t").unwrap_err();
        assert!(err.to_string().contains("exactly one"), "{err}");
        let err = Config::from_toml("[deadlines]\nworking_day_end = \"5pm\"", "t").unwrap_err();
        assert!(err.to_string().contains("HH:MM"), "{err}");
        // The embedded file and the default agree on where edited templates live.
        let unset = Config::from_toml("", "t").unwrap();
        assert_eq!(config.notify.templates_dir, unset.notify.templates_dir);
        assert_eq!(
            config.notify.templates_dir,
            std::path::Path::new("config/templates/mail")
        );
        let err = Config::from_toml("[notify]\ntemplate_dir = \"x\"", "t").unwrap_err();
        assert!(err.to_string().contains("template_dir"), "{err}");
    }
}
