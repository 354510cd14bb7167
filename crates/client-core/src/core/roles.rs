//! *Core side* (synchronous, sans-IO): the state and rules of this feature.
//!
//! Roles: announcement loops and who may invite (normative:
//! `protocol-spec/organizing.md` §5).
//!
//! A loop's policy is part of its signed state, changed by an admin with `SetPolicy`.
//! In an announcement loop (`Posting::Admins`) only admins post; everyone still reacts,
//! votes and answers events. The rule is enforced twice: a member's own client refuses
//! to send a post it may not make, and every receiver ignores a post from a member who
//! may not make it (a modified client, or one that had not yet heard of the policy):
//! `content::admits`, the one admission rule for what arrives.

use boucle_crypto::Content;

use super::Core;
use crate::error::EngineError;
use crate::ids::{ConversationId, MemberKey};

/// Whether a content kind is a *post*: something only admins may send in an
/// announcement loop. Reactions, votes, answers to events, deleting one's own message
/// and closing or cancelling one's own poll or event are not posts. Kinds this version
/// does not know count as posts.
pub(crate) fn is_post(content: &Content) -> bool {
    !matches!(
        content,
        Content::Reaction { .. }
            | Content::Delete { .. }
            | Content::Receipt { .. }
            | Content::Vote { .. }
            | Content::Rsvp { .. }
            | Content::ClosePoll { .. }
            | Content::CancelEvent { .. }
            | Content::KeyShare(_)
            | Content::Control(_)
    )
}

/// Whether `who` (an Ed25519 identity) may post in a conversation: the one rule every
/// sender and receiver applies. Anyone may post in a 1:1 conversation; in a loop, a
/// member, and only an admin in an announcement loop. A loop we do not hold says no.
pub(crate) fn may_post(core: &Core, conversation: ConversationId, who: &MemberKey) -> bool {
    match conversation {
        ConversationId::Contact(_) => true,
        ConversationId::Loop(id) => core
            .loops
            .get(&id)
            .is_some_and(|session| session.state().may_post(&who.0)),
    }
}

/// Refuses, before anything is written or sent, a post we may not make.
pub(crate) fn check_may_post(
    core: &Core,
    conversation: ConversationId,
    content: &Content,
) -> Result<(), EngineError> {
    if let ConversationId::Loop(id) = conversation
        && !core.loops.contains_key(&id)
    {
        // Not (or no longer) a member: the send path says so in its own words.
        return Ok(());
    }
    let me = MemberKey::of(&core.account.identity_keys());
    if is_post(content) && !may_post(core, conversation, &me) {
        return Err(EngineError::NotAllowedToPost);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use boucle_crypto::MessageId;

    use super::*;

    #[test]
    fn reactions_and_answers_are_not_posts() {
        let to = MessageId([1; 16]);
        for content in [
            Content::Reaction {
                to,
                emoji: "👍".into(),
                remove: false,
            },
            Content::Delete { target: to },
            Content::Vote {
                poll: to,
                choices: vec![0],
            },
            Content::Rsvp {
                event: to,
                answer: boucle_crypto::RsvpAnswer::Going,
            },
            Content::ClosePoll { poll: to },
            Content::CancelEvent { event: to },
        ] {
            assert!(!is_post(&content), "{content:?}");
        }
    }

    #[test]
    fn writing_anything_new_is_a_post() {
        let to = MessageId([1; 16]);
        for content in [
            Content::Text("hello".into()),
            Content::Reply {
                to,
                text: "hi".into(),
            },
            Content::Edit {
                target: to,
                text: "changed".into(),
            },
            Content::Timer { seconds: 3600 },
            Content::Unsupported {
                version: 2,
                kind: 999,
                payload: Vec::new(),
            },
        ] {
            assert!(is_post(&content), "{content:?}");
        }
    }
}
