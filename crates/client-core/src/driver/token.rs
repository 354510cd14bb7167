//! *Driver side*: the tokio tasks and network calls of this feature; the state they
//! change is in `crate::core::token`, its public API in `crate::engine::token`.
//!
//! The home relay's access token: what lets this profile create mailboxes on a relay
//! whose operator requires one (`relay-protocol.md` §10). Checked with the relay when a
//! profile is created and when the token is changed, so that a profile never ends up
//! unable to make an invitation without saying why.

use boucle_relay_client::RelayClient;
use boucle_wire::{AccessToken, ReceiveId, RelayAddress};
use ed25519_dalek::SigningKey;

use crate::error::EngineError;

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
