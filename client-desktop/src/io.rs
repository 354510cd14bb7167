//! Everything the main window asks of the engine, as plain data: a [`Request`] goes in,
//! [`perform`] runs it (inside a `Task`) and a [`Response`] comes back as a message.
//! Keeping requests as values lets tests run them against a real engine without iced's
//! executor.

use std::collections::HashMap;

use boucle_client_core::{
    Contact, ContactId, ConversationId, Engine, LoopId, LoopView, MemberView, MessageId,
    MessageView,
};

/// How many messages a conversation shows.
pub const PAGE: usize = 200;

/// Something to ask the engine.
#[derive(Debug, Clone)]
pub enum Request {
    /// Contacts, loops and each conversation's last message.
    Refresh,
    History(ConversationId),
    Send {
        conversation: ConversationId,
        text: String,
        reply_to: Option<MessageId>,
    },
    /// Marks a conversation read, then refreshes the list.
    MarkRead(ConversationId),
    Invite,
    Accept(String),
    SafetyNumber(ContactId),
    MarkVerified(ContactId),
    CreateLoop {
        name: String,
        contacts: Vec<ContactId>,
    },
    Members(LoopId),
}

/// What the engine answered. Errors are sentences for the user.
#[derive(Debug, Clone)]
pub enum Response {
    Refreshed(Result<Overview, String>),
    History(ConversationId, Result<Vec<MessageView>, String>),
    Sent(ConversationId, Result<MessageView, String>),
    Invited(Result<String, String>),
    Accepted(Result<Contact, String>),
    SafetyNumber(ContactId, Result<Safety, String>),
    Verified(Result<Contact, String>),
    LoopCreated(Result<LoopId, String>),
    Members(LoopId, Result<Vec<MemberView>, String>),
    /// Nothing to show (mark read).
    Done,
}

/// The conversation list's data.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    pub contacts: Vec<Contact>,
    pub loops: Vec<LoopView>,
    pub last: HashMap<ConversationId, MessageView>,
}

/// A safety number ready to show.
#[derive(Debug, Clone)]
pub struct Safety {
    pub groups: Vec<String>,
    pub qr: Vec<u8>,
}

/// Runs one request.
pub async fn perform(engine: Engine, request: Request) -> Response {
    let text = |e: boucle_client_core::EngineError| e.to_string();
    match request {
        Request::Refresh => Response::Refreshed(overview(&engine).map_err(text)),
        Request::History(id) => Response::History(id, engine.history(id, None, PAGE).map_err(text)),
        Request::Send {
            conversation,
            text: body,
            reply_to,
        } => {
            let sent = match reply_to {
                Some(to) => engine.reply(conversation, to, &body),
                None => engine.send_text(conversation, &body),
            };
            Response::Sent(conversation, sent.map_err(text))
        }
        Request::MarkRead(id) => match engine.mark_read(id) {
            Ok(()) => Response::Refreshed(overview(&engine).map_err(text)),
            Err(error) => Response::Refreshed(Err(text(error))),
        },
        Request::Invite => {
            Response::Invited(engine.invite().await.map(|i| i.to_link()).map_err(text))
        }
        Request::Accept(link) => Response::Accepted(engine.accept(&link).await.map_err(text)),
        Request::SafetyNumber(id) => Response::SafetyNumber(
            id,
            engine
                .safety_number(id)
                .map(|n| Safety {
                    groups: n.digit_groups().iter().map(|g| (*g).to_owned()).collect(),
                    qr: n.qr_payload().to_vec(),
                })
                .map_err(text),
        ),
        Request::MarkVerified(id) => Response::Verified(engine.mark_verified(id).map_err(text)),
        Request::CreateLoop { name, contacts } => {
            Response::LoopCreated(engine.create_loop(&name, &contacts).await.map_err(text))
        }
        Request::Members(id) => Response::Members(id, engine.loop_members(id).map_err(text)),
    }
}

fn overview(engine: &Engine) -> Result<Overview, boucle_client_core::EngineError> {
    let contacts = engine.contacts()?;
    let loops = engine.loops()?;
    let mut last = HashMap::new();
    let ids = contacts
        .iter()
        .map(|c| ConversationId::Contact(c.id))
        .chain(loops.iter().map(|l| ConversationId::Loop(l.id)));
    for id in ids {
        if let Some(message) = engine.history(id, None, 1)?.pop() {
            last.insert(id, message);
        }
    }
    Ok(Overview {
        contacts,
        loops,
        last,
    })
}
