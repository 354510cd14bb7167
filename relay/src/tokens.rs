//! Operator access tokens that allow creating mailboxes.
//!
//! Stored in the data directory's `tokens` file, one per line:
//! `id <TAB> sha256(token) hex <TAB> created (unix seconds) <TAB> label`. Only hashes are
//! kept, so the file does not let anyone create mailboxes. The running relay re-reads
//! the file when it changes, so `token create` and `token revoke` take effect at once.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use boucle_wire::AccessToken;
use sha2::{Digest, Sha256};

use crate::error::RelayError;

/// One token's public record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Short id for listing and revoking.
    pub id: String,
    hash: [u8; 32],
    /// When it was made (unix seconds).
    pub created: u64,
    /// Operator's note.
    pub label: String,
}

/// The token file of a data directory.
#[derive(Debug)]
pub struct TokenFile {
    path: PathBuf,
}

/// Text form of a token: base64url, no padding.
pub fn token_to_text(token: &AccessToken) -> String {
    URL_SAFE_NO_PAD.encode(token.as_bytes())
}

/// Parses the text form of a token.
pub fn token_from_text(text: &str) -> Option<AccessToken> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
    AccessToken::from_slice(&bytes).ok()
}

impl TokenFile {
    /// The token file in `dir`.
    pub fn new(dir: &Path) -> TokenFile {
        TokenFile {
            path: dir.join("tokens"),
        }
    }

    /// All tokens.
    pub fn list(&self) -> Result<Vec<TokenRecord>, RelayError> {
        read_records(&self.path)
    }

    /// Makes a new token and returns it (its text is shown once, never stored).
    pub fn create(&self, label: &str) -> Result<(TokenRecord, AccessToken), RelayError> {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        let token = AccessToken::from_bytes(bytes);
        let hash: [u8; 32] = Sha256::digest(bytes).into();
        let record = TokenRecord {
            id: hex::encode(&hash[..4]),
            hash,
            created: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            label: label.replace(['\t', '\n', '\r'], " "),
        };
        let mut records = self.list()?;
        records.push(record.clone());
        write_records(&self.path, &records)?;
        Ok((record, token))
    }

    /// Revokes a token by id; returns whether it existed.
    pub fn revoke(&self, id: &str) -> Result<bool, RelayError> {
        let mut records = self.list()?;
        let before = records.len();
        records.retain(|r| r.id != id);
        if records.len() == before {
            return Ok(false);
        }
        write_records(&self.path, &records)?;
        Ok(true)
    }

    /// Whether `token` is currently valid. The file is read every time (it is small, and
    /// only mailbox creation asks): a token revoked a moment ago is refused at once. A
    /// cache keyed on the file's modification time missed a revocation made within one
    /// tick of the kernel's coarse clock after a creation.
    pub fn check(&self, token: &AccessToken) -> bool {
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        read_records(&self.path)
            .unwrap_or_default()
            .iter()
            .any(|r| r.hash == hash)
    }
}

fn read_records(path: &Path) -> Result<Vec<TokenRecord>, RelayError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RelayError::io(path, e)),
    };
    let mut records = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.splitn(4, '\t');
        let parsed = (|| {
            let id = fields.next()?.to_owned();
            let hash: [u8; 32] = hex::decode(fields.next()?).ok()?.try_into().ok()?;
            let created = fields.next()?.parse().ok()?;
            let label = fields.next().unwrap_or_default().to_owned();
            Some(TokenRecord {
                id,
                hash,
                created,
                label,
            })
        })();
        match parsed {
            Some(record) => records.push(record),
            None => {
                return Err(RelayError::Config {
                    path: path.to_owned(),
                    reason: format!("line {} is not a token record", number + 1),
                });
            }
        }
    }
    Ok(records)
}

fn write_records(path: &Path, records: &[TokenRecord]) -> Result<(), RelayError> {
    let mut text =
        String::from("# id\tsha256(token)\tcreated\tlabel — managed by `boucle-relay token`\n");
    for r in records {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            r.id,
            hex::encode(r.hash),
            r.created,
            r.label
        ));
    }
    crate::fsutil::write_private(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_right_after_a_creation_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = TokenFile::new(dir.path());
        // Many rounds, each within one tick of the coarse clock that stamps files.
        for _ in 0..200 {
            let (record, token) = tokens.create("quick").unwrap();
            assert!(tokens.check(&token));
            assert!(tokens.revoke(&record.id).unwrap());
            assert!(
                !tokens.check(&token),
                "a revoked token must be refused at once"
            );
        }
    }

    #[test]
    fn create_check_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = TokenFile::new(dir.path());
        let (record, token) = tokens.create("alice's group").unwrap();
        assert!(tokens.check(&token));
        assert!(!tokens.check(&AccessToken::from_bytes([0; 32])));
        assert_eq!(token_from_text(&token_to_text(&token)), Some(token));
        let stored = std::fs::read_to_string(dir.path().join("tokens")).unwrap();
        assert!(
            !stored.contains(&token_to_text(&token)),
            "only hashes are stored"
        );
        assert!(tokens.revoke(&record.id).unwrap());
        // The file changed; a new TokenFile (as in the running relay) sees the revocation.
        assert!(!TokenFile::new(dir.path()).check(&token));
    }
}
