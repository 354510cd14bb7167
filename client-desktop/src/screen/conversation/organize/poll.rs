//! A poll in the history, as a card: the question, each option with its count, share
//! and voters (a show of hands), our choice marked, and voting by clicking an option
//! (again to take a single choice back). Its author and admins may close it (after a
//! confirmation); a closed poll shows the final tally, the leading option marked.

use boucle_client_core::{MessageView, PollOption, PollView};
use iced::widget::{button, column, container, progress_bar, row, space, text};
use iced::{Alignment, Element, Fill};

use super::{Message, State};
use crate::screen::conversation::Confirm;
use crate::screen::conversation::card::{card, kind_line};
use crate::{format, theme};

/// A poll's card; `now` says whether its closing time passed.
pub fn view<'a>(
    state: &'a State,
    message: &'a MessageView,
    question: &'a str,
    footer: String,
    now: u64,
    confirm: Option<Confirm>,
) -> Element<'a, Message> {
    let Some(poll) = state.polls.get(&message.id) else {
        return card(
            column![
                kind_line("Poll", String::new()),
                text(question).size(17),
                text("Reading the votes…")
                    .size(theme::SMALL)
                    .style(theme::muted_text),
                text(footer).size(12).style(theme::muted_text),
            ]
            .spacing(6),
        );
    };
    let closed = is_closed(poll, now);
    let status = if closed {
        match poll.ended_at.or(poll.closes_at) {
            Some(ended) => format!("Closed {} · final result", format::ago(now, ended)),
            None => "Closed · final result".to_owned(),
        }
    } else {
        let choices = if poll.multiple {
            "several choices"
        } else {
            "one choice"
        };
        match poll.closes_at {
            Some(at) => format!("{choices} · closes {}", crate::when::until(now, at)),
            None => choices.to_owned(),
        }
    };
    let voters = poll.voters.len();
    let leading: Vec<u8> = if closed {
        poll.leading().iter().map(|o| o.index).collect()
    } else {
        Vec::new()
    };
    let options = column(poll.options.iter().map(|option| {
        self::option(
            poll,
            option,
            voters,
            closed,
            leading.contains(&option.index),
        )
    }))
    .spacing(6);
    let summary = match (voters, poll.my_choices.is_empty(), closed) {
        (0, _, false) => "No votes yet: click an option to vote.".to_owned(),
        (0, _, true) => "Nobody voted.".to_owned(),
        (n, true, false) => format!("{} · you have not voted yet", people(n)),
        (n, false, false) if poll.multiple => {
            format!("{} · click an option to add or take back yours", people(n))
        }
        (n, false, false) => format!("{} · click another option to change your vote", people(n)),
        (n, _, true) => people(n),
    };
    let confirm = confirm == Some(Confirm::ClosePoll(poll.id));
    let close: Option<Element<'a, Message>> = (poll.can_close && !closed).then(|| {
        if confirm {
            row![
                text("Close it for everyone? Votes stop counting.").size(theme::SMALL),
                button(text("Close it").size(theme::SMALL))
                    .padding([4, 10])
                    .style(button::danger)
                    .on_press(Message::ConfirmClosePoll(poll.id)),
                button(text("Keep it open").size(theme::SMALL))
                    .padding([4, 10])
                    .style(button::secondary)
                    .on_press(Message::KeepPoll),
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center)
            .into()
        } else {
            button(text("Close poll").size(theme::SMALL))
                .padding([4, 10])
                .style(button::secondary)
                .on_press(Message::AskClosePoll(poll.id))
                .into()
        }
    });
    card(
        column![
            kind_line("Poll", status),
            text(&poll.question).size(17),
            options,
            text(summary).size(theme::SMALL).style(theme::muted_text),
            close,
            text(footer).size(12).style(theme::muted_text),
        ]
        .spacing(8),
    )
}

/// Whether voting is over: the engine said so, or the closing time passed since.
pub fn is_closed(poll: &PollView, now: u64) -> bool {
    poll.closed || poll.closes_at.is_some_and(|at| at <= now)
}

fn option<'a>(
    poll: &'a PollView,
    option: &'a PollOption,
    voters: usize,
    closed: bool,
    leading: bool,
) -> Element<'a, Message> {
    let share = if voters == 0 {
        0.0
    } else {
        option.votes as f32 * 100.0 / voters as f32
    };
    let names: Vec<&str> = option
        .voters
        .iter()
        .map(|v| if v.me { "you" } else { v.name.as_str() })
        .collect();
    let count = format!("{} · {:.0}%", option.votes, share);
    let top = row![
        marker(poll.multiple, option.mine),
        text(&option.text).size(theme::BODY).width(Fill),
        leading.then(|| theme::label("most votes", theme::Tag::Good)),
        text(count).size(theme::SMALL),
    ]
    .spacing(theme::GAP)
    .align_y(Alignment::Center);
    let bar = progress_bar(0.0..=100.0, share)
        .girth(6)
        .style(theme::tally(option.mine));
    let who = (!names.is_empty()).then(|| text(names.join(", ")).size(12).style(theme::muted_text));
    let body = column![top, bar, who].spacing(4);
    let vote = (!closed).then_some(Message::Vote(poll.id, option.index));
    button(body)
        .width(Fill)
        .padding([6, 8])
        .style(theme::poll_option(option.mine))
        .on_press_maybe(vote)
        .into()
}

/// A round mark for one choice, a square one for several; filled when ours.
fn marker<'a>(multiple: bool, mine: bool) -> Element<'a, Message> {
    container(space())
        .width(14)
        .height(14)
        .style(theme::marker(if multiple { 3.0 } else { 7.0 }, mine))
        .into()
}

/// "1 voter", "3 voters".
fn people(n: usize) -> String {
    if n == 1 {
        "1 voter".to_owned()
    } else {
        format!("{n} voters")
    }
}
