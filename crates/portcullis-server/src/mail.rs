//! Outgoing mail (invitations) over SMTP with lettre, when `PORTCULLIS_SMTP_URL` is set.
//! Mail is a convenience: the invitation link is always shown to the admin too, so a mail
//! failure is reported, never fatal.

use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// No SMTP server is configured.
    #[error("no SMTP server is configured")]
    NotConfigured,
    /// An address or the message is invalid.
    #[error("invalid mail: {0}")]
    Invalid(String),
    /// The SMTP server refused or could not be reached.
    #[error("the SMTP server failed: {0}")]
    Transport(String),
}

/// Sends a plain-text mail through the configured SMTP server.
pub async fn send(config: &Config, to: &str, subject: &str, body: String) -> Result<(), MailError> {
    let url = config.smtp_url.as_deref().ok_or(MailError::NotConfigured)?;
    let from: Mailbox = config
        .smtp_from
        .parse()
        .map_err(|e| MailError::Invalid(format!("sender: {e}")))?;
    let to: Mailbox = to
        .parse()
        .map_err(|e| MailError::Invalid(format!("recipient: {e}")))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| MailError::Invalid(e.to_string()))?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| MailError::Invalid(format!("PORTCULLIS_SMTP_URL: {e}")))?
        .timeout(Some(std::time::Duration::from_secs(10)))
        .build();
    transport
        .send(message)
        .await
        .map_err(|e| MailError::Transport(e.to_string()))?;
    Ok(())
}

/// The invitation mail's text.
pub fn invitation_text(account_name: &str, inviter: &str, link: &str) -> String {
    format!(
        "{inviter} invited you to join {account_name} on Portcullis.\n\n\
         Open this link to accept (it works once, for seven days):\n\n{link}\n\n\
         If you did not expect this invitation, ignore this mail.\n"
    )
}
