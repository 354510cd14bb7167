//! One message in the conversation: the sender's name at the start of a group, the
//! bubble (quote of the message it replies to, text, time, "edited", delivery state),
//! its reactions, and, when selected, its actions. Polls, events, files and shared
//! contacts are cards drawn by the parts that own them; a change of the
//! disappearing-messages timer is a line.

use boucle_client_core::{MessageBody, MessageView};
use iced::widget::{button, column, container, row, space, text};
use iced::{Alignment, Element, Fill, Padding};

use super::{Message, REACTIONS, sender_name};
use crate::screen::conversation::{
    Confirm, Message as Screen, State as Conversation, organize, shared,
};
use crate::{format, theme};

/// Where a message sits and what the view knows about the relay.
pub struct Context {
    pub first_of_group: bool,
    pub relay_down: bool,
}

pub fn view<'a>(
    screen: &'a Conversation,
    message: &'a MessageView,
    context: Context,
) -> Element<'a, Screen> {
    let title = screen.header.info().title.as_str();
    if let MessageBody::TimerChanged { seconds } = message.body {
        return timer_line(message, title, seconds);
    }
    let mine = message.from_me;
    let name = context.first_of_group.then(|| {
        text(if mine {
            "You"
        } else {
            sender_name(message, title)
        })
        .size(theme::SMALL)
        .style(theme::muted_text)
    });
    let footer = || footer(screen.now, message, &context);
    let item = match &message.body {
        MessageBody::Poll { question } if !message.deleted => organize::poll::view(
            &screen.organize,
            message,
            question,
            footer(),
            screen.now,
            screen.confirm,
        )
        .map(Screen::Organize),
        MessageBody::Event { title, .. } if !message.deleted => organize::event::view(
            &screen.organize,
            message,
            title,
            footer(),
            &screen.zone,
            screen.confirm,
        )
        .map(Screen::Organize),
        MessageBody::Attachment {
            name,
            media_type,
            size,
        } if !message.deleted => screen
            .attachments
            .card(message, name, media_type, *size, footer())
            .map(Screen::Attachments),
        MessageBody::SharedContact {
            name,
            already_contact,
            contact,
            ..
        } if !message.deleted => shared::card(
            &screen.shared,
            message,
            name,
            sender_name(message, title),
            contact.filter(|_| *already_contact),
            footer(),
        )
        .map(Screen::Shared),
        _ => bubble(screen, message, &context).map(Screen::History),
    };
    let line = if mine {
        row![space::horizontal(), item]
    } else {
        row![item, space::horizontal()]
    };
    let selected = screen.history.selected == Some(message.id);
    let align = if mine {
        Alignment::End
    } else {
        Alignment::Start
    };
    let confirm = screen.confirm;
    column![
        name,
        line,
        reactions(message).map(|e| e.map(Screen::History)),
        selected.then(|| actions(message, confirm).map(Screen::History))
    ]
    .spacing(3)
    .width(Fill)
    .align_x(align)
    .padding(Padding::default().top(if context.first_of_group { 8 } else { 0 }))
    .into()
}

fn bubble<'a>(
    screen: &'a Conversation,
    message: &'a MessageView,
    context: &Context,
) -> Element<'a, Message> {
    let title = screen.header.info().title.as_str();
    let quote = message.reply_to.map(|id| {
        let quoted = match screen.history.find(id) {
            Some(original) => format!(
                "{}: {}",
                if original.from_me {
                    "You"
                } else {
                    sender_name(original, title)
                },
                format::preview_text(original, 50)
            ),
            None => "A message not shown here".to_owned(),
        };
        container(text(quoted).size(theme::SMALL))
            .padding([3, 8])
            .style(theme::quote)
    });
    let footer = footer(screen.now, message, context);
    let body = if message.deleted {
        text(format::body(message))
            .size(theme::BODY)
            .style(theme::muted_text)
    } else {
        text(format::body(message)).size(theme::BODY)
    };
    let content = container(column![quote, body, text(footer).size(12)].spacing(4)).max_width(520);
    if !is_text(message) {
        return container(content)
            .padding([8, 12])
            .style(theme::bubble(message.from_me))
            .into();
    }
    button(content)
        .padding([8, 12])
        .style(theme::bubble_button(
            message.from_me,
            screen.history.selected == Some(message.id),
        ))
        .on_press(Message::Select(message.id))
        .into()
}

/// Whether a message can be shown with text (not deleted, a kind we understand).
fn is_text(message: &MessageView) -> bool {
    !message.deleted && matches!(message.body, MessageBody::Text(_))
}

/// Time, "edited" and delivery state, under a message.
fn footer(now: u64, message: &MessageView, context: &Context) -> String {
    let mut footer = format::ago(now, message.sent_at);
    if message.edited && !message.deleted {
        footer.push_str(" · edited");
    }
    if let Some(state) = &message.delivery {
        footer.push_str(" · ");
        footer.push_str(&format::delivery(state, context.relay_down));
    }
    footer
}

/// Reactions, one chip per emoji with its count; ours are outlined, and clicking a chip
/// adds ours or takes it back.
fn reactions(message: &MessageView) -> Option<Element<'_, Message>> {
    if message.reactions.is_empty() {
        return None;
    }
    let mut groups: Vec<(&str, usize, bool)> = Vec::new();
    for reaction in &message.reactions {
        match groups.iter_mut().find(|(e, _, _)| *e == reaction.emoji) {
            Some((_, count, mine)) => {
                *count += 1;
                *mine |= reaction.mine;
            }
            None => groups.push((&reaction.emoji, 1, reaction.mine)),
        }
    }
    let chips = groups.into_iter().map(|(emoji, count, mine)| {
        button(
            row![
                text(emoji).font(theme::EMOJI).size(15),
                text(count.to_string()).size(12),
            ]
            .spacing(4)
            .align_y(Alignment::Center),
        )
        .padding([2, 8])
        .style(theme::chip(mine))
        .on_press(Message::React(message.id, emoji.to_owned()))
        .into()
    });
    Some(row(chips).spacing(4).into())
}

/// The selected message's actions, or the question before deleting it.
fn actions(message: &MessageView, confirm: Option<Confirm>) -> Element<'_, Message> {
    let id = message.id;
    let small = |label: &'static str, on_press: Message| {
        button(text(label).size(theme::SMALL))
            .padding([4, 10])
            .style(button::secondary)
            .on_press(on_press)
    };
    if confirm == Some(Confirm::Delete(id)) {
        return container(
            row![
                text("Delete this message for everyone?").size(theme::SMALL),
                button(text("Delete it").size(theme::SMALL))
                    .padding([4, 10])
                    .style(button::danger)
                    .on_press(Message::ConfirmDelete(id)),
                small("Keep it", Message::KeepMessage),
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center),
        )
        .padding(6)
        .style(theme::panel)
        .into();
    }
    let emoji = REACTIONS.iter().map(|emoji| {
        button(text(*emoji).font(theme::EMOJI).size(18))
            .padding([2, 6])
            .style(button::text)
            .on_press(Message::React(id, (*emoji).to_owned()))
            .into()
    });
    let mut bar = row![small("Reply", Message::Reply(id))]
        .push(row(emoji).spacing(0))
        .spacing(theme::GAP)
        .align_y(Alignment::Center);
    if message.from_me {
        bar = bar
            .push(small("Edit", Message::StartEdit(id)))
            .push(small("Delete", Message::AskDelete(id)));
    }
    container(bar).padding(6).style(theme::panel).into()
}

/// "Nadia set disappearing messages to 1 day", centred in the history.
fn timer_line<'a>(message: &'a MessageView, title: &'a str, seconds: u32) -> Element<'a, Screen> {
    let who = if message.from_me {
        "You"
    } else {
        sender_name(message, title)
    };
    let what = if seconds == 0 {
        format!("{who} turned disappearing messages off")
    } else {
        format!(
            "{who} set disappearing messages to {}",
            format::timer(seconds)
        )
    };
    container(text(what).size(theme::SMALL).style(theme::muted_text))
        .center_x(Fill)
        .padding([4, 0])
        .into()
}
