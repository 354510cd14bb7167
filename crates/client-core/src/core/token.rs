//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
//!
//! The home relay's access token: what lets this profile create mailboxes on a relay
//! whose operator requires one (`relay-protocol.md` §10). Checked with the relay when a
//! profile is created and when the token is changed, so that a profile never ends up
//! unable to make an invitation without saying why.

use crate::error::EngineError;

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
