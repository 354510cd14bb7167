//! The conversation list: who we are and whether the relay answers, the main actions,
//! and one entry per contact and loop (name, tag, time, last message, its delivery
//! state, unread badge), most recently active first.

use boucle_client_core::{Contact, ConversationId, LoopView, MessageView};
use iced::widget::{button, column, container, row, scrollable, space, text};
use iced::{Alignment, Element, Fill};

use super::{Message, State};
use crate::io::Overview;
use crate::{format, theme};

pub fn view(state: &State, relay_down: bool) -> Element<'_, Message> {
    let now = state.now;
    let status = if relay_down {
        text("Relay unreachable: messages are queued")
            .size(theme::SMALL)
            .style(theme::error_text)
    } else {
        text("Connected")
            .size(theme::SMALL)
            .style(theme::muted_text)
    };
    let actions = column![
        wide_button("Invite someone", "Ctrl+N", Message::Invite),
        wide_button("Accept an invitation", "", Message::Accept),
        wide_button("New loop", "", Message::NewLoop),
        wide_button("Agenda", "Ctrl+G", Message::Agenda),
    ]
    .spacing(6);
    let open = state.open_id();
    let list = column(entries(&state.overview).into_iter().map(|entry| {
        let id = entry.id();
        let last = state.overview.last.get(&id);
        self::entry(state, entry, last, now, relay_down, open == Some(id))
    }))
    .spacing(2);
    let empty = state.overview.contacts.is_empty() && state.overview.loops.is_empty();
    let hint = empty.then(|| {
        text("No conversations yet. Invite someone, or accept an invitation you received.")
            .size(theme::SMALL)
    });
    let problem = state
        .problem
        .as_deref()
        .map(|p| text(p).size(theme::SMALL).style(theme::error_text));
    let body = column![
        column![text(&state.me).size(20), status, problem].spacing(2),
        actions,
        row![
            text("Conversations").size(theme::SMALL),
            space::horizontal(),
            text("Ctrl+↑/↓").size(12).style(theme::muted_text),
        ],
        hint,
        scrollable(list).height(Fill),
    ]
    .spacing(theme::GAP * 1.5)
    .padding(theme::GAP * 2.0);
    container(body)
        .width(theme::SIDEBAR)
        .height(Fill)
        .style(theme::sidebar)
        .into()
}

/// Contacts and loops, most recently active first.
pub fn entries(overview: &Overview) -> Vec<Entry<'_>> {
    let mut entries: Vec<Entry<'_>> = overview
        .contacts
        .iter()
        .map(Entry::Contact)
        .chain(overview.loops.iter().map(Entry::Loop))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.last_activity()));
    entries
}

fn entry<'a>(
    state: &'a State,
    entry: Entry<'a>,
    last: Option<&'a MessageView>,
    now: u64,
    relay_down: bool,
    selected: bool,
) -> Element<'a, Message> {
    let (name, unread, tag) = match entry {
        Entry::Contact(c) => (
            c.name.as_str(),
            c.unread,
            if c.blocked {
                Some(theme::label("blocked", theme::Tag::Neutral))
            } else if c.identity_changed {
                Some(theme::label("key changed", theme::Tag::Warning))
            } else if c.verified {
                Some(theme::label("verified", theme::Tag::Good))
            } else {
                None
            },
        ),
        Entry::Loop(l) => (
            l.name.as_str(),
            l.unread,
            Some(theme::label(
                match (l.member, state.left.contains(&l.id)) {
                    (true, _) => "loop",
                    (false, true) => "loop, left",
                    (false, false) => "loop, joining…",
                },
                theme::Tag::Neutral,
            )),
        ),
    };
    let delivery = last
        .and_then(|m| m.delivery.as_ref())
        .map(|d| format::delivery_short(d, relay_down));
    // What fits on the line beside the delivery state and the badge, in characters.
    let budget =
        38 - delivery.map_or(0, |d| d.chars().count() + 1) - if unread > 0 { 4 } else { 0 };
    let preview = last
        .map(|m| match (&entry, &m.sender) {
            (Entry::Loop(_), Some(sender)) if !m.from_me => {
                format!("{sender}: {}", format::preview_text(m, budget))
            }
            _ => format::preview(m, budget),
        })
        .map(|p| format::shorten(&p, budget))
        .unwrap_or_else(|| "No messages yet".to_owned());
    let delivery = delivery.map(|d| text(d).size(12).style(theme::muted_text));
    let when = (entry.last_activity() > 0).then(|| {
        text(format::ago(now, entry.last_activity()))
            .size(12)
            .wrapping(text::Wrapping::None)
    });
    // Room for the name beside its tag and the time, in characters.
    let room = if tag.is_some() { 16 } else { 22 };
    let badge = (unread > 0).then(|| {
        container(text(unread.to_string()).size(12))
            .padding([1, 7])
            .style(theme::badge)
    });
    let top = row![
        text(format::shorten(name, room))
            .size(theme::BODY)
            .wrapping(text::Wrapping::None),
        tag,
        space::horizontal(),
        when
    ]
    .spacing(6)
    .align_y(Alignment::Center);
    let bottom = row![
        text(preview)
            .size(theme::SMALL)
            .width(Fill)
            .wrapping(text::Wrapping::None),
        delivery,
        badge
    ]
    .spacing(6)
    .align_y(Alignment::Center);
    // A contact someone shared with us says who introduced them (until we verify them).
    let introduced = match entry {
        Entry::Contact(c) if !c.verified => c.introduced_by.as_deref().map(|by| {
            text(format::shorten(&format!("introduced by {by}"), 40))
                .size(12)
                .style(theme::muted_text)
                .wrapping(text::Wrapping::None)
        }),
        _ => None,
    };
    button(column![top, bottom, introduced].spacing(3))
        .width(Fill)
        .padding([8, 10])
        .style(if selected {
            button::primary
        } else {
            button::text
        })
        .on_press(Message::Open(entry.id()))
        .into()
}

fn wide_button<'a>(label: &'a str, keys: &'a str, message: Message) -> Element<'a, Message> {
    let keys = (!keys.is_empty()).then(|| text(keys).size(12).style(theme::muted_text));
    button(
        row![text(label).size(theme::BODY), space::horizontal(), keys].align_y(Alignment::Center),
    )
    .width(Fill)
    .padding([7, 12])
    .style(button::secondary)
    .on_press(message)
    .into()
}

/// One line of the list.
#[derive(Clone, Copy)]
pub enum Entry<'a> {
    Contact(&'a Contact),
    Loop(&'a LoopView),
}

impl Entry<'_> {
    pub fn id(&self) -> ConversationId {
        match self {
            Entry::Contact(c) => ConversationId::Contact(c.id),
            Entry::Loop(l) => ConversationId::Loop(l.id),
        }
    }

    fn last_activity(&self) -> u64 {
        match self {
            Entry::Contact(c) => c.last_activity,
            Entry::Loop(l) => l.last_activity,
        }
    }
}
