//! The kinds of origin a complaint can have.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Kind of origin of a complaint. Several sources may feed one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Petition and reporting office (信访举报).
    Petition,
    /// The public hotline (12345, 市长公开电话).
    Hotline,
    /// The online government portal (网上政府在线).
    Online,
    /// News media exposure.
    Media,
    /// The economic-development complaint centre (经济发展投诉中心).
    Economic,
    /// Case transfers from finance, audit and legal review.
    Transfer,
    /// Complaints received by email.
    Email,
    /// Anything else.
    Other,
}

impl Channel {
    /// Every channel, in a stable order.
    pub const ALL: [Channel; 8] = [
        Channel::Petition,
        Channel::Hotline,
        Channel::Online,
        Channel::Media,
        Channel::Economic,
        Channel::Transfer,
        Channel::Email,
        Channel::Other,
    ];

    /// The lowercase name used in config, the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Petition => "petition",
            Channel::Hotline => "hotline",
            Channel::Online => "online",
            Channel::Media => "media",
            Channel::Economic => "economic",
            Channel::Transfer => "transfer",
            Channel::Email => "email",
            Channel::Other => "other",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a channel name that is not one of [`Channel::ALL`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown channel `{0}`; expected one of petition, hotline, online, media, economic, transfer, email, other")]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownChannel(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>().unwrap(), c);
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{c}\""));
        }
        let err = "phone".parse::<Channel>().unwrap_err().to_string();
        assert!(err.contains("phone") && err.contains("hotline"), "{err}");
    }
}
