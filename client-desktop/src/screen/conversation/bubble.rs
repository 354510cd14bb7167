//! One message in the conversation: the sender's name at the start of a group, the
//! bubble (quote of the message it replies to, text, time, "edited", delivery state),
//! its reactions, and, when selected, its actions.

use boucle_client_core::{MessageBody, MessageView};
use iced::widget::{button, column, container, row, space, text};
use iced::{Alignment, Element, Fill, Padding};

use super::{Message, REACTIONS, State, attachment, event, is_text, poll, shared, timer};
use crate::{format, theme};

/// Where a message sits and what the view knows about now.
pub struct Context {
    pub first_of_group: bool,
    pub now: u64,
    pub relay_down: bool,
}

pub fn view<'a>(
    state: &'a State,
    message: &'a MessageView,
    context: Context,
) -> Element<'a, Message> {
    if let MessageBody::TimerChanged { seconds } = message.body {
        return timer::line(state, message, seconds);
    }
    let mine = message.from_me;
    let name = context.first_of_group.then(|| {
        text(if mine {
            "You"
        } else {
            state.sender_name(message)
        })
        .size(theme::SMALL)
        .style(theme::muted_text)
    });
    let item = match &message.body {
        MessageBody::Poll { question } if !message.deleted => {
            poll::view(state, message, question, footer(message, &context))
        }
        MessageBody::Event { title, .. } if !message.deleted => {
            event::view(state, message, title, footer(message, &context))
        }
        MessageBody::Attachment {
            name,
            media_type,
            size,
        } if !message.deleted => attachment::view(
            state,
            message,
            name,
            media_type,
            *size,
            footer(message, &context),
        ),
        MessageBody::SharedContact {
            name,
            already_contact,
            contact,
            ..
        } if !message.deleted => shared::view(
            state,
            message,
            name,
            contact.filter(|_| *already_contact),
            footer(message, &context),
        ),
        _ => bubble(state, message, &context),
    };
    let line = if mine {
        row![space::horizontal(), item]
    } else {
        row![item, space::horizontal()]
    };
    let selected = state.selected == Some(message.id);
    let align = if mine {
        Alignment::End
    } else {
        Alignment::Start
    };
    column![
        name,
        line,
        reactions(message),
        selected.then(|| actions(state, message))
    ]
    .spacing(3)
    .width(Fill)
    .align_x(align)
    .padding(Padding::default().top(if context.first_of_group { 8 } else { 0 }))
    .into()
}

fn bubble<'a>(
    state: &'a State,
    message: &'a MessageView,
    context: &Context,
) -> Element<'a, Message> {
    let quote = message.reply_to.map(|id| {
        let quoted = match state.find(id) {
            Some(original) => format!(
                "{}: {}",
                if original.from_me {
                    "You"
                } else {
                    state.sender_name(original)
                },
                format::preview_text(original, 50)
            ),
            None => "A message not shown here".to_owned(),
        };
        container(text(quoted).size(theme::SMALL))
            .padding([3, 8])
            .style(theme::quote)
    });
    let footer = footer(message, context);
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
            state.selected == Some(message.id),
        ))
        .on_press(Message::Select(message.id))
        .into()
}

/// Time, "edited" and delivery state, under a message.
fn footer(message: &MessageView, context: &Context) -> String {
    let mut footer = format::ago(context.now, message.sent_at);
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
fn actions<'a>(state: &'a State, message: &'a MessageView) -> Element<'a, Message> {
    let id = message.id;
    let small = |label: &'a str, on_press: Message| {
        button(text(label).size(theme::SMALL))
            .padding([4, 10])
            .style(button::secondary)
            .on_press(on_press)
    };
    if state.confirm_delete == Some(id) {
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
