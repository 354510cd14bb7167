//! The home relay's access token: what lets this profile create mailboxes on a relay
//! whose operator requires one (`relay-protocol.md` §10). Checked with the relay when a
//! profile is created and when the token is changed, so that a profile never ends up
//! unable to make an invitation without saying why.

use boucle_relay_client::RelayClient;
use boucle_wire::{AccessToken, ReceiveId, RelayAddress};
use ed25519_dalek::SigningKey;

use super::Engine;
use crate::error::EngineError;
use crate::model::{META, PROFILE_KEY};

impl Engine {
    /// Sets (or replaces) the access token this profile gives its home relay to create
    /// mailboxes, after checking that the relay accepts it: nothing changes if it does
    /// not. Returns whether the relay requires a token at all (an open relay ignores it;
    /// it is kept anyway, for if the relay closes).
    pub async fn set_access_token(&self, token: &str) -> Result<bool, EngineError> {
        let token = parse_token(token)?;
        let home = self.home_relay()?;
        let client = self
            .inner
            .pool
            .connect_now(&home)
            .await
            .map_err(|e| EngineError::relay(&home, e))?;
        let required = check(&client, &home, Some(token)).await?;
        let mut core = self.inner.core()?;
        let mut profile = core.profile.clone();
        profile.access_token = Some(token);
        core.store
            .write(|batch| batch.put_value(META, PROFILE_KEY, &profile))?;
        core.profile = profile;
        Ok(required)
    }

    /// Whether this profile holds an access token for its home relay.
    pub fn has_access_token(&self) -> Result<bool, EngineError> {
        Ok(self.inner.core()?.profile.access_token.is_some())
    }
}

/// Checks `token` with a relay we are connected to. Returns whether the relay requires
/// one; fails if it does and `token` is missing or refused. A token is tried by creating
/// a mailbox with it, which is deleted at once (the only way the protocol offers).
pub(crate) async fn check(
    client: &RelayClient,
    relay: &RelayAddress,
    token: Option<[u8; 32]>,
) -> Result<bool, EngineError> {
    if !client.limits().token_required {
        return Ok(false);
    }
    let Some(token) = token else {
        return Err(EngineError::TokenRequired {
            relay: relay.authority(),
        });
    };
    let mut secret = [0u8; 32];
    rand::fill(&mut secret);
    let owner = SigningKey::from_bytes(&secret);
    let ids = client
        .create_mailbox(&owner, Some(AccessToken::from_bytes(token)))
        .await
        .map_err(|e| EngineError::relay(relay, e))?;
    // Deleting needs ownership proven on this connection: a subscription does it.
    let deleted = async {
        let receive_id: ReceiveId = ids.receive_id;
        let subscription = client.subscribe(receive_id, &owner).await?;
        drop(subscription);
        client.delete_mailbox(receive_id).await
    }
    .await;
    if let Err(error) = deleted {
        // The token is good; an empty mailbox left behind expires on the relay.
        tracing::debug!(%error, "could not delete the mailbox made to check a token");
    }
    Ok(true)
}

/// An access token as `boucle-relay token create` prints it: 32 bytes in base64url.
pub(crate) fn parse_token(text: &str) -> Result<[u8; 32], EngineError> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|_| {
            EngineError::InvalidToken("it should be the 43 letters, digits, - and _ the relay's operator got from `boucle-relay token create`")
        })?;
    bytes.try_into().map_err(|_| {
        EngineError::InvalidToken("it should be 43 characters long (32 bytes in base64url)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_32_bytes_of_base64url() {
        let token = parse_token(" BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc\n").unwrap();
        assert_eq!(token, [7; 32]);
        for bad in ["", "not a token!", "BwcHBwcH"] {
            assert!(
                matches!(parse_token(bad), Err(EngineError::InvalidToken(_))),
                "{bad:?}"
            );
        }
    }
}
