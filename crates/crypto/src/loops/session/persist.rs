//! Encrypted export and import of a [`LoopSession`].

use serde::{Deserialize, Serialize};
use vodozemac::megolm::{
    GroupSession, GroupSessionPickle, InboundGroupSession, InboundGroupSessionPickle,
};

use super::{Inbound, LoopSession, Outbound, RotationPolicy};
use crate::error::PickleError;
use crate::identity::IdentityKeys;
use crate::loops::state::LoopState;
use crate::loops::window::ReadWindow;
use crate::pickle::{self, PickleKey, StateKind};
use crate::seal::HeaderKey;
use crate::time::Timestamp;

#[derive(Serialize, Deserialize)]
struct LoopRecord {
    me: IdentityKeys,
    state: LoopState,
    policy: RotationPolicy,
    outbound: Option<(GroupSessionPickle, [u8; 32], Timestamp)>,
    inbound: Vec<InboundRecord>,
    must_rotate: bool,
    removed: bool,
}

/// Pickled inbound session: (session id, owner, Megolm pickle, header key, window).
type InboundRecord = (
    [u8; 32],
    IdentityKeys,
    InboundGroupSessionPickle,
    [u8; 32],
    ReadWindow,
);

impl LoopSession {
    /// Exports the loop state and keys encrypted under `key`.
    pub fn pickle(&self, key: &PickleKey, rng: &mut impl rand::CryptoRng) -> Vec<u8> {
        let record = LoopRecord {
            me: self.me,
            state: self.state.clone(),
            policy: self.policy,
            outbound: self
                .outbound
                .as_ref()
                .map(|o| (o.session.pickle(), o.header_key.0, o.created_at)),
            inbound: self
                .inbound
                .iter()
                .map(|(id, i)| {
                    (
                        *id,
                        i.owner,
                        i.session.pickle(),
                        i.header_key.0,
                        i.window.clone(),
                    )
                })
                .collect(),
            must_rotate: self.must_rotate,
            removed: self.removed,
        };
        pickle::seal(StateKind::Loop, &record, key, rng)
    }

    /// Imports a loop exported by [`LoopSession::pickle`].
    pub fn from_pickle(bytes: &[u8], key: &PickleKey) -> Result<Self, PickleError> {
        let r: LoopRecord = pickle::open(StateKind::Loop, bytes, key)?;
        let outbound = r.outbound.map(|(p, hk, created_at)| Outbound {
            session: GroupSession::from_pickle(p),
            header_key: HeaderKey(hk),
            created_at,
        });
        let inbound = r
            .inbound
            .into_iter()
            .map(|(id, owner, p, hk, window)| {
                let header_key = HeaderKey(hk);
                let cipher = crate::seal::keyed_cipher(&header_key);
                (
                    id,
                    Inbound {
                        owner,
                        session: InboundGroupSession::from_pickle(p),
                        header_key,
                        cipher,
                        window,
                    },
                )
            })
            .collect();
        Ok(Self {
            me: r.me,
            state: r.state,
            policy: r.policy,
            outbound,
            inbound,
            must_rotate: r.must_rotate,
            removed: r.removed,
        })
    }
}
