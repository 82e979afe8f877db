//! Slack request signatures (https://api.slack.com/authentication/verifying-requests-from-slack):
//! `X-Slack-Signature: v0=<hex HMAC-SHA256(signing_secret, "v0:{timestamp}:{raw body}")>`, with
//! `X-Slack-Request-Timestamp` no more than five minutes from our clock (replay window).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far a request timestamp may be from our clock, in seconds.
pub const REPLAY_WINDOW_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Slack-Signature or X-Slack-Request-Timestamp header")]
    Missing,
    #[error("X-Slack-Request-Timestamp is not a Unix time in seconds")]
    BadTimestamp,
    #[error(
        "X-Slack-Request-Timestamp is {0} s away from the server clock (limit 300 s); check the clock or a replay"
    )]
    Stale(i64),
    #[error("X-Slack-Signature does not match any configured signing secret")]
    Mismatch,
}

/// The `v0=...` signature Slack would send for this body.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!("v0={}", hex::encode(mac(secret, timestamp, body)))
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    m.update(b"v0:");
    m.update(timestamp.as_bytes());
    m.update(b":");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// Checks the timestamp window, then the signature against each candidate secret (constant-time
/// compare for each). Returns the index of the secret that matched.
pub fn verify(
    secrets: &[&str],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<usize, SignatureError> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureError::Missing);
    };
    let ts: i64 = timestamp.trim().parse().map_err(|_| SignatureError::BadTimestamp)?;
    let skew = (now_secs - ts).abs();
    if skew > REPLAY_WINDOW_SECS {
        return Err(SignatureError::Stale(skew));
    }
    let given = signature.trim().strip_prefix("v0=").and_then(|h| hex::decode(h).ok());
    let Some(given) = given else { return Err(SignatureError::Mismatch) };
    for (i, secret) in secrets.iter().enumerate() {
        let expected = mac(secret, timestamp.trim(), body);
        if expected.len() == given.len() && bool::from(expected.ct_eq(&given)) {
            return Ok(i);
        }
    }
    Err(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_documentation_example_verifies() {
        // The worked example of Slack's "Verifying requests from Slack" page.
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let sig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(sign(secret, "1531420618", body), sig);
        assert_eq!(verify(&["other", secret], Some("1531420618"), Some(sig), body, 1531420618 + 299), Ok(1));
    }

    #[test]
    fn stale_missing_and_wrong_signatures_are_rejected() {
        let body = b"{}";
        let sig = sign("s", "1000", body);
        assert_eq!(verify(&["s"], Some("1000"), Some(&sig), body, 1301), Err(SignatureError::Stale(301)));
        assert_eq!(verify(&["s"], Some("1000"), Some(&sig), body, 699), Err(SignatureError::Stale(301)));
        assert_eq!(verify(&["s"], Some("1000"), None, body, 1000), Err(SignatureError::Missing));
        assert_eq!(verify(&["s"], Some("soon"), Some(&sig), body, 1000), Err(SignatureError::BadTimestamp));
        assert_eq!(verify(&["t"], Some("1000"), Some(&sig), body, 1000), Err(SignatureError::Mismatch));
        assert_eq!(verify(&["s"], Some("1000"), Some(&sig), b"{ }", 1000), Err(SignatureError::Mismatch));
        assert_eq!(verify(&["s"], Some("1000"), Some("v0=zz"), body, 1000), Err(SignatureError::Mismatch));
        assert_eq!(verify(&[], Some("1000"), Some(&sig), body, 1000), Err(SignatureError::Mismatch));
    }
}
