//! *Public API side*: the [`Engine`](crate::Engine) methods of this feature; what they
//! change is in `crate::core::loops`.
//!
//! Loops: group conversations with Megolm sender keys (see `protocol-spec/client-protocol.md`).
//!
//! Joining takes three messages, all over pairwise sessions, so members need not be each
//! other's contacts: the admin sends the loop's signed history to a contact
//! (`LoopInvitation`); the contact creates a per-loop mailbox and answers with its member
//! card (`LoopJoin`); the admin signs `AddMember(card)`, sends it to every member, and
//! sends the new member the whole history to join from. Every membership change makes
//! every member rotate its sending key before its next message and share the new key,
//! pairwise, with the members of the new state only: a removed member cannot read what is
//! sent after its removal.

use boucle_crypto::{Content, ControlOp, LoopId};

use super::messages::new_message;
use super::{Core, Engine};
use crate::error::EngineError;
use crate::ids::ContactId;
use crate::model::{LOOPS, LoopRecord, LoopView, MailboxPurpose, MemberView};
use crate::store::StoreError;

pub(crate) use crate::core::loops::*;

impl Engine {
    /// Creates a loop with us as its admin, and invites these contacts into it.
    pub async fn create_loop(
        &self,
        name: &str,
        contacts: &[ContactId],
    ) -> Result<LoopId, EngineError> {
        let name = crate::invite::clean_name(name);
        let id = LoopId::random(&mut *self.inner.core()?.rng());
        let mailbox = self.new_mailbox(MailboxPurpose::Loop(id)).await?;
        let mut core = self.inner.core()?;
        let receive_id = mailbox.record.receive();
        create(&mut core, id, name, contacts, mailbox)?;
        self.inner.watch(&core, receive_id);
        drop(core);
        self.inner.changed();
        Ok(id)
    }

    /// Invites a contact into a loop: admins may, and every member if the loop's policy
    /// lets members invite.
    pub fn invite_to_loop(&self, id: LoopId, contact: ContactId) -> Result<(), EngineError> {
        let mut core = self.inner.core()?;
        core.contact_record(&contact)?;
        let mut record = loop_record(&core, id)?;
        let me = core.account.identity_keys();
        let session = core.loops.get(&id).ok_or(EngineError::NotInLoop)?;
        if !session.state().may_invite(&me.ed25519) {
            return Err(EngineError::NotAdmin);
        }
        let history = decode_history(&record.history)?;
        let invitation = new_message(&core, Content::LoopInvitation { history });
        let item = super::messages::seal_for(&mut core, contact, &invitation, None)?;
        if !record.invited.contains(&contact) {
            record.invited.push(contact);
        }
        let session = core.session_pickle(&contact).unwrap_or_default();
        let Core {
            store, counters, ..
        } = &mut *core;
        store.write(|batch| {
            batch.put_value(LOOPS, &id.0, &record)?;
            batch.put(crate::model::SESSIONS, &contact.0, &session)?;
            queue(counters, batch, vec![item])
        })?;
        drop(core);
        self.inner.changed();
        Ok(())
    }

    /// Removes a member (admins only). `member` is a member's short id or a contact name.
    pub fn remove_from_loop(&self, id: LoopId, member: &str) -> Result<(), EngineError> {
        let ed25519 = self.resolve_member(id, member)?;
        self.change_loop(id, ControlOp::RemoveMember(ed25519))
    }

    /// Makes a member an admin (admins only).
    pub fn promote_in_loop(&self, id: LoopId, member: &str) -> Result<(), EngineError> {
        let ed25519 = self.resolve_member(id, member)?;
        self.change_loop(id, ControlOp::AddAdmin(ed25519))
    }

    /// Renames a loop (admins only).
    pub fn rename_loop(&self, id: LoopId, name: &str) -> Result<(), EngineError> {
        self.change_loop(id, ControlOp::Rename(crate::invite::clean_name(name)))
    }

    /// Leaves a loop: the others are told, and nothing more is received from it.
    pub fn leave_loop(&self, id: LoopId) -> Result<(), EngineError> {
        let me = self.inner.core()?.account.identity_keys().ed25519;
        self.change_loop(id, ControlOp::RemoveMember(me))
    }

    /// All loops, most recently active first.
    pub fn loops(&self) -> Result<Vec<LoopView>, EngineError> {
        let core = self.inner.core()?;
        let me = core.account.identity_keys().ed25519;
        let mut out = Vec::new();
        for (key, bytes) in core.store.scan(LOOPS, b"")? {
            let Ok(id) = <[u8; 16]>::try_from(key.as_slice()) else {
                continue;
            };
            let id = LoopId(id);
            let record: LoopRecord = postcard::from_bytes(&bytes)
                .map_err(|_| StoreError::Corrupt("a loop record is unreadable".into()))?;
            let session = core.loops.get(&id);
            out.push(LoopView {
                id,
                name: session.map_or(record.name.clone(), |s| s.state().name().to_owned()),
                members: session.map_or(0, |s| s.state().members().count()),
                admin: session.is_some_and(|s| s.state().is_admin(&me)),
                member: session.is_some(),
                unread: record.unread,
                last_activity: record.last_activity,
                policy: session.map_or_else(Default::default, |s| s.state().policy()),
                timer: session.map_or(0, |s| s.state().timer_secs()),
                may_post: session.is_some_and(|s| s.state().may_post(&me)),
                may_invite: session.is_some_and(|s| s.state().may_invite(&me)),
            });
        }
        out.sort_by(|a, b| {
            b.last_activity
                .cmp(&a.last_activity)
                .then(a.name.cmp(&b.name))
        });
        Ok(out)
    }

    /// Finds a loop by name or by (a prefix of) its hexadecimal id.
    pub fn find_loop(&self, query: &str) -> Result<LoopId, EngineError> {
        let lower = query.trim().to_lowercase();
        let loops = self.loops()?;
        let matches: Vec<_> = loops
            .iter()
            .filter(|l| {
                l.name.to_lowercase() == lower
                    || (lower.len() >= 4 && hex::encode(l.id.0).starts_with(&lower))
            })
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.id),
            [] => Err(EngineError::UnknownLoop(query.to_owned())),
            _ => Err(EngineError::AmbiguousLoop(query.to_owned())),
        }
    }

    /// The members of a loop.
    pub fn loop_members(&self, id: LoopId) -> Result<Vec<MemberView>, EngineError> {
        let core = self.inner.core()?;
        let me = core.account.identity_keys();
        let session = core.loops.get(&id).ok_or(EngineError::NotInLoop)?;
        let contacts = contacts_by_identity(&core)?;
        Ok(session
            .state()
            .members()
            .map(|card| {
                let key = card.identity().ed25519;
                let contact = contacts.get(&crate::ids::MemberKey(key));
                MemberView {
                    id: hex::encode(&key[..4]),
                    name: contact.map(|(name, _)| name.clone()),
                    me: key == me.ed25519,
                    admin: session.state().is_admin(&key),
                    verified: contact.is_some_and(|(_, verified)| *verified),
                }
            })
            .collect())
    }

    fn resolve_member(&self, id: LoopId, member: &str) -> Result<[u8; 32], EngineError> {
        let core = self.inner.core()?;
        let session = core.loops.get(&id).ok_or(EngineError::NotInLoop)?;
        let contacts = contacts_by_identity(&core)?;
        let query = member.trim().to_lowercase();
        let found: Vec<[u8; 32]> = session
            .state()
            .members()
            .map(|c| c.identity().ed25519)
            .filter(|key| {
                hex::encode(&key[..4]).starts_with(&query) && query.len() >= 4
                    || contacts
                        .get(&crate::ids::MemberKey(*key))
                        .is_some_and(|(name, _)| name.to_lowercase() == query)
            })
            .collect();
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(EngineError::UnknownContact(member.to_owned())),
            _ => Err(EngineError::AmbiguousContact(member.to_owned())),
        }
    }

    /// Signs a change, applies it here, and sends it to the members concerned.
    pub(crate) fn change_loop(&self, id: LoopId, op: ControlOp) -> Result<(), EngineError> {
        let mut core = self.inner.core()?;
        let mut record = loop_record(&core, id)?;
        let items = issue(&mut core, id, &mut record, op)?;
        commit_loop(&mut core, id, &mut record, items, |_| Ok(()))?;
        drop(core);
        self.inner.changed();
        Ok(())
    }
}
