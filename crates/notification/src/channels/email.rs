//! One email attempt: a multipart (plain text + HTML) mail with a stable `Message-ID`, sent
//! over SMTP or written as an `.eml` file.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use secrecy::ExposeSecret as _;

use super::settings::{EmailSettings, EmailTransport, SmtpTls};
use super::signing::idempotency_key;
use super::{Attempt, ChannelError, EMAIL_KEY, Message};

/// Sends (or writes) reminder mails.
#[derive(Debug)]
pub(super) struct Mailer {
    from: Mailbox,
    transport: Transport,
    timeout: Duration,
}

#[derive(Debug)]
enum Transport {
    File(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Mailer {
    pub(super) fn new(settings: &EmailSettings) -> Result<Self, ChannelError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| ChannelError::InvalidSettings(format!("email.from {:?}: {e}", settings.from)))?;
        let transport = match settings.transport {
            EmailTransport::File => Transport::File(settings.file_dir.clone()),
            EmailTransport::Smtp => Transport::Smtp(smtp_transport(settings)?),
        };
        Ok(Self { from, transport, timeout: settings.timeout() })
    }

    pub(super) async fn deliver(&self, address: &str, message: &Message) -> Attempt {
        let to: Mailbox = match address.parse() {
            Ok(to) => to,
            Err(error) => return Attempt::Failed { reason: format!("the address {address:?} is invalid: {error}") },
        };
        let key = idempotency_key(message.reminder_id, message.generation, &format!("{EMAIL_KEY}:{}", to.email));
        let mail = match compose(&self.from, to, message, &message_id(key, &self.from)) {
            Ok(mail) => mail,
            Err(error) => return Attempt::Failed { reason: format!("composing the mail: {error}") },
        };
        match &self.transport {
            Transport::File(dir) => {
                write_file(dir, &format!("{}.eml", key.simple()), &mail.formatted(), self.timeout).await
            }
            Transport::Smtp(smtp) => match tokio::time::timeout(self.timeout, smtp.send(mail)).await {
                Ok(Ok(_)) => Attempt::Delivered,
                Ok(Err(error)) if error.is_permanent() => {
                    Attempt::Failed { reason: format!("the mail server refused the mail: {error}") }
                }
                Ok(Err(error)) => Attempt::Retry { after: None, reason: format!("sending the mail: {error}") },
                Err(_) => Attempt::Retry {
                    after: None,
                    reason: format!("the mail server did not finish within {} ms", self.timeout.as_millis()),
                },
            },
        }
    }
}

fn smtp_transport(settings: &EmailSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, ChannelError> {
    let smtp = &settings.smtp;
    let tls = |host: &str| {
        TlsParameters::new(host.to_owned()).map_err(|e| ChannelError::InvalidSettings(format!("email.smtp TLS: {e}")))
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
        .port(smtp.port)
        .timeout(Some(settings.timeout()))
        .tls(match smtp.tls {
            SmtpTls::Starttls => Tls::Required(tls(&smtp.host)?),
            SmtpTls::Tls => Tls::Wrapper(tls(&smtp.host)?),
            SmtpTls::None => Tls::None,
        });
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_owned()));
    }
    Ok(builder.build())
}

/// `<uuid@domain-of-from>`: the same for every attempt of one (reminder, generation, address).
fn message_id(key: uuid::Uuid, from: &Mailbox) -> String {
    format!("<{}@{}>", key.simple(), from.email.domain())
}

/// The mail: subject, plain text and HTML alternatives.
fn compose(from: &Mailbox, to: Mailbox, message: &Message, id: &str) -> Result<lettre::Message, lettre::error::Error> {
    let when = message.remind_at.format("%Y-%m-%d %H:%M UTC");
    let due = message.due_at.map(|due| format!("Due: {}\n", due.format("%Y-%m-%d %H:%M UTC"))).unwrap_or_default();
    let late = if message.late { "(Sent late: the reminder service was unavailable at the time.)\n" } else { "" };
    let plain =
        format!("Reminder: {}\n\nReminder time: {when}\n{due}{late}\nTask: {}\n", message.title, message.task_id);
    let title = escape_html(&message.title);
    let due_html =
        message.due_at.map(|due| format!("<p>Due: {}</p>", due.format("%Y-%m-%d %H:%M UTC"))).unwrap_or_default();
    let late_html =
        if message.late { "<p><em>Sent late: the reminder service was unavailable at the time.</em></p>" } else { "" };
    let html = format!(
        "<!DOCTYPE html><html><body><h1>Reminder: {title}</h1><p>Reminder time: {when}</p>{due_html}{late_html}\
         <p>Task: <code>{}</code></p></body></html>",
        message.task_id
    );
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(format!("Reminder: {}", message.title))
        .message_id(Some(id.to_owned()))
        .multipart(MultiPart::alternative_plain_html(plain, html))
}

/// Writes the mail as `dir/name`, whole or not at all (a temporary file renamed), so a reader
/// never sees half a mail and a resend replaces the file instead of adding one.
async fn write_file(dir: &std::path::Path, name: &str, bytes: &[u8], timeout: Duration) -> Attempt {
    let path = dir.join(name);
    let partial = dir.join(format!(".{name}.partial"));
    let write = async {
        tokio::fs::create_dir_all(dir).await?;
        tokio::fs::write(&partial, bytes).await?;
        tokio::fs::rename(&partial, &path).await
    };
    match tokio::time::timeout(timeout, write).await {
        Ok(Ok(())) => Attempt::Delivered,
        Ok(Err(error)) => Attempt::Retry { after: None, reason: format!("writing {}: {error}", path.display()) },
        Err(_) => Attempt::Retry { after: None, reason: format!("writing {} timed out", path.display()) },
    }
}

fn escape_html(text: &str) -> String {
    text.chars().fold(String::with_capacity(text.len()), |mut out, c| {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;

    fn message() -> Message {
        Message {
            reminder_id: Uuid::now_v7(),
            user_id: "alice".into(),
            task_id: Uuid::now_v7(),
            title: "Pay <rent> & bills".into(),
            remind_at: Utc::now(),
            due_at: Some(Utc::now()),
            fired_at: Utc::now(),
            late: false,
            generation: 0,
        }
    }

    #[test]
    fn the_mail_is_multipart_alternative_with_the_given_message_id_and_escaped_html() {
        let from: Mailbox = "taskstream <reminders@example.com>".parse().expect("a mailbox");
        let to: Mailbox = "alice@example.com".parse().expect("a mailbox");

        let mail = compose(&from, to, &message(), "<abc@example.com>").expect("a mail");
        let text = String::from_utf8(mail.formatted()).expect("UTF-8");

        assert!(text.contains("Message-ID: <abc@example.com>"), "{text}");
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(text.contains("text/plain") && text.contains("text/html"), "{text}");
        assert!(text.contains("Pay &lt;rent&gt; &amp; bills"), "{text}");
    }

    #[test]
    fn the_message_id_uses_the_domain_of_from() {
        let from: Mailbox = "reminders@mail.example.org".parse().expect("a mailbox");
        let key = Uuid::now_v7();

        assert_eq!(message_id(key, &from), format!("<{}@mail.example.org>", key.simple()));
    }
}
