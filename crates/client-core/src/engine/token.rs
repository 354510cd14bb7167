//! *Public API side*: the [`Engine`](crate::Engine) methods of this feature; what they
//! change is in `crate::core::token`.
//!
//! The home relay's access token: what lets this profile create mailboxes on a relay
//! whose operator requires one (`relay-protocol.md` §10). Checked with the relay when a
//! profile is created and when the token is changed, so that a profile never ends up
//! unable to make an invitation without saying why.

use super::Engine;
use crate::error::EngineError;
use crate::model::{META, PROFILE_KEY};

pub(crate) use crate::core::token::*;
pub(crate) use crate::driver::token::*;

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
