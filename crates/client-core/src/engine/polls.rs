//! Show-of-hands polls in loops and 1:1 conversations (`protocol-spec/organizing.md` §1).

use boucle_crypto::{Content, MessageId, PollSpec, Timestamp};

use super::Engine;
use super::organize::{Names, Sender, load_poll, may_create, poll_view, send};
use crate::error::EngineError;
use crate::ids::ConversationId;
use crate::model::{MessageView, POLLS};
use crate::organize::{PollView, check_poll};

impl Engine {
    /// Asks a question in a conversation: 2 to 12 `options`, one choice or several
    /// (`multiple`), voting open until someone closes it or, if given, until `closes_at`
    /// (unix ms). Returns its entry in the history; its id is the poll's id.
    pub fn create_poll(
        &self,
        conversation: ConversationId,
        question: &str,
        options: &[String],
        multiple: bool,
        closes_at: Option<u64>,
    ) -> Result<MessageView, EngineError> {
        let spec = PollSpec {
            question: question.trim().to_owned(),
            options: options.iter().map(|o| o.trim().to_owned()).collect(),
            multiple,
            closes_at: closes_at.map(Timestamp),
        };
        check_poll(&spec).map_err(EngineError::InvalidPoll)?;
        for (i, option) in spec.options.iter().enumerate() {
            if spec.options[..i]
                .iter()
                .any(|other| other.to_lowercase() == option.to_lowercase())
            {
                return Err(EngineError::InvalidPoll(format!(
                    "the option {option:?} is there twice"
                )));
            }
        }
        let check = |core: &super::Core, me: &Sender| {
            if closes_at.is_some_and(|t| t <= core.now()) {
                return Err(EngineError::InvalidPoll(
                    "its closing time is already past".into(),
                ));
            }
            if !may_create(core, conversation, me) {
                return Err(EngineError::NotAllowedToPost);
            }
            Ok(())
        };
        let (_, view) = send(&self.inner, conversation, check, Content::Poll(spec))?;
        view.ok_or(EngineError::UnknownPoll)
    }

    /// Votes: `choices` are option indices (one at most unless the poll allows several),
    /// replacing our earlier vote; empty takes our vote back.
    pub fn vote(
        &self,
        conversation: ConversationId,
        poll: MessageId,
        choices: &[u8],
    ) -> Result<PollView, EngineError> {
        let mut choices = choices.to_vec();
        choices.sort_unstable();
        choices.dedup();
        let check = |core: &super::Core, _: &Sender| {
            let record = load_poll(core, conversation, poll)?;
            let created = record.state.created().ok_or(EngineError::UnknownPoll)?;
            if record.state.is_closed(core.now()) {
                return Err(EngineError::PollClosed);
            }
            let options = created.spec.options.len();
            if let Some(bad) = choices.iter().find(|&&c| usize::from(c) >= options) {
                return Err(EngineError::InvalidVote(format!(
                    "there is no option {} (the options are 1 to {options})",
                    u16::from(*bad) + 1
                )));
            }
            if !created.spec.multiple && choices.len() > 1 {
                return Err(EngineError::InvalidVote(
                    "this poll takes one choice only".into(),
                ));
            }
            Ok(())
        };
        send(
            &self.inner,
            conversation,
            check,
            Content::Vote {
                poll,
                choices: choices.clone(),
            },
        )?;
        self.poll(conversation, poll)
    }

    /// Closes a poll (its author or an admin): votes sent from now on do not count.
    pub fn close_poll(
        &self,
        conversation: ConversationId,
        poll: MessageId,
    ) -> Result<PollView, EngineError> {
        let check = |core: &super::Core, me: &Sender| {
            let record = load_poll(core, conversation, poll)?;
            let created = record.state.created().ok_or(EngineError::UnknownPoll)?;
            if !(me.admin || created.author == me.key) {
                return Err(EngineError::NotOrganizer);
            }
            if record.state.is_closed(core.now()) {
                return Err(EngineError::PollClosed);
            }
            Ok(())
        };
        send(
            &self.inner,
            conversation,
            check,
            Content::ClosePoll { poll },
        )?;
        self.poll(conversation, poll)
    }

    /// A poll of a conversation, with its live tally.
    pub fn poll(
        &self,
        conversation: ConversationId,
        poll: MessageId,
    ) -> Result<PollView, EngineError> {
        let core = self.inner.core()?;
        let record = load_poll(&core, conversation, poll)?;
        let names = Names::load(&core)?;
        let me = Sender::me(&core, conversation);
        poll_view(&record, poll, &names, &me, core.now()).ok_or(EngineError::UnknownPoll)
    }

    /// The polls of a conversation, newest first.
    pub fn polls(&self, conversation: ConversationId) -> Result<Vec<PollView>, EngineError> {
        let core = self.inner.core()?;
        let names = Names::load(&core)?;
        let me = Sender::me(&core, conversation);
        let now = core.now();
        let mut out = Vec::new();
        for (key, bytes) in core.store.scan(POLLS, &conversation.key())? {
            let Some(id) = key.get(16..32).and_then(|id| <[u8; 16]>::try_from(id).ok()) else {
                continue;
            };
            let record: super::organize::PollRecord =
                postcard::from_bytes(&bytes).map_err(|_| {
                    crate::store::StoreError::Corrupt("a poll record is unreadable".into())
                })?;
            if record.conversation != conversation {
                continue;
            }
            out.extend(poll_view(&record, MessageId(id), &names, &me, now));
        }
        out.sort_by_key(|p| std::cmp::Reverse((p.created_at, p.id)));
        Ok(out)
    }
}
