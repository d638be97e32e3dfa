//! Secrets (secret access keys, session tokens) that never print in full: not in `Display`, not in
//! `Debug`, not in error messages.

use std::fmt;

/// A secret string; only [`Secret::expose`] gives the whole value, for the credentials file.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The whole secret. Call it only to write the credentials file or to sign requests.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The first four characters and a fixed run of asterisks, safe to print.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.masked())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Masks a secret for display: at most its first four characters (none when it is shorter than
/// 12) and sixteen asterisks, so neither the secret nor its length shows.
pub fn mask(secret: &str) -> String {
    let shown: String = if secret.chars().count() >= 12 {
        secret.chars().take(4).collect()
    } else {
        String::new()
    };
    format!("{shown}{}", "*".repeat(16))
}

/// Masks an access key id for display: its first four and last four characters.
pub fn mask_key_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 12 {
        return "*".repeat(chars.len().max(4));
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn masked_secret_shows_four_characters_only() {
        let s = Secret::new(SECRET);
        assert_eq!(s.masked(), "wJal****************");
        assert_eq!(format!("{s}"), s.masked());
        assert_eq!(format!("{s:?}"), "Secret(wJal****************)");
        assert!(!format!("{s:?}{s}").contains("rXUtn"));
        assert_eq!(s.expose(), SECRET);
    }

    #[test]
    fn short_secrets_show_nothing() {
        assert_eq!(mask("abc"), "****************");
        assert_eq!(mask(""), "****************");
    }

    #[test]
    fn key_ids_keep_head_and_tail() {
        assert_eq!(mask_key_id("AKIAIOSFODNN7EXAMPLE"), "AKIA************MPLE");
        assert_eq!(mask_key_id("short"), "*****");
    }
}

/// Temporary credentials from AssumeRole.
#[derive(Debug, Clone)]
pub struct AssumedCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Secret,
    pub expiration: aws_smithy_types::DateTime,
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`
    pub assumed_role_arn: String,
    /// The session's SourceIdentity, set at AssumeRole or kept from the session it came from.
    pub source_identity: Option<String>,
}
