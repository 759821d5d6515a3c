//! The PEM armor of keys (RFC 7468): a label and a base64 body.

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// One PEM block: its label (`PUBLIC KEY`) and its decoded body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Block {
    pub(crate) label: String,
    pub(crate) der: Vec<u8>,
}

/// Why text is not PEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PemError {
    /// No `-----BEGIN …-----` line.
    NoBegin,
    /// A block without its `-----END …-----` line.
    NoEnd { label: String },
    /// A body with RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`).
    Headers { label: String },
    /// A body that is not base64.
    Base64 { label: String },
}

// RFC 7468 section 3: generators pad, parsers may be lax about it.
const BODY: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The blocks of `text`, in order, ignoring text between them.
///
/// A literal `\n` (backslash, n) counts as a line break: a PEM key pasted
/// into a `.env` file or a compose file often arrives with its line
/// breaks written that way, and neither `\` nor `n`-after-`\` can occur in
/// a label or a base64 body.
pub(crate) fn blocks(text: &str) -> Result<Vec<Block>, PemError> {
    let text = text.replace("\\r", "").replace("\\n", "\n");
    let mut rest = text.as_str();
    let mut blocks = Vec::new();
    while let Some(begin) = rest.find("-----BEGIN ") {
        let after = &rest[begin + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            return Err(PemError::NoBegin);
        };
        let label = &after[..label_end];
        if label.contains(['\n', '\r']) {
            return Err(PemError::NoBegin);
        }
        let body_and_rest = &after[label_end + "-----".len()..];
        let end_line = format!("-----END {label}-----");
        let Some(body_end) = body_and_rest.find(&end_line) else {
            return Err(PemError::NoEnd {
                label: label.to_owned(),
            });
        };
        let body = &body_and_rest[..body_end];
        if body.contains(':') {
            return Err(PemError::Headers {
                label: label.to_owned(),
            });
        }
        let body: String = body.split_ascii_whitespace().collect();
        let der = BODY.decode(body).map_err(|_| PemError::Base64 {
            label: label.to_owned(),
        })?;
        blocks.push(Block {
            label: label.to_owned(),
            der,
        });
        rest = &body_and_rest[body_end + end_line.len()..];
    }
    if blocks.is_empty() {
        return Err(PemError::NoBegin);
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_block() {
        let text = "-----BEGIN PUBLIC KEY-----\nAAEC\nAw==\n-----END PUBLIC KEY-----\n";
        assert_eq!(
            blocks(text),
            Ok(vec![Block {
                label: "PUBLIC KEY".to_owned(),
                der: vec![0, 1, 2, 3],
            }])
        );
    }

    #[test]
    fn reads_escaped_line_breaks_and_missing_padding() {
        let text = "-----BEGIN PUBLIC KEY-----\\nAAEC\\r\\nAw\\n-----END PUBLIC KEY-----";
        assert_eq!(blocks(text).unwrap()[0].der, vec![0, 1, 2, 3]);
    }

    #[test]
    fn reads_every_block_in_order() {
        let text = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n\
                    -----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----";
        let labels: Vec<_> = blocks(text).unwrap().into_iter().map(|b| b.label).collect();
        assert_eq!(labels, ["EC PARAMETERS", "PUBLIC KEY"]);
    }

    #[test]
    fn refuses_what_is_not_pem() {
        assert_eq!(
            blocks("!ChangeThisMercureHubJWTSecretKey!"),
            Err(PemError::NoBegin)
        );
        assert_eq!(blocks("-----BEGIN PUBLIC KEY"), Err(PemError::NoBegin));
        assert_eq!(
            blocks("-----BEGIN PUBLIC KEY-----\nAA==\n-----END PRIVATE KEY-----"),
            Err(PemError::NoEnd {
                label: "PUBLIC KEY".to_owned()
            })
        );
        assert_eq!(
            blocks("-----BEGIN PUBLIC KEY-----\nA*A=\n-----END PUBLIC KEY-----"),
            Err(PemError::Base64 {
                label: "PUBLIC KEY".to_owned()
            })
        );
        assert_eq!(
            blocks(
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAA==\n\
                 -----END RSA PRIVATE KEY-----"
            ),
            Err(PemError::Headers {
                label: "RSA PRIVATE KEY".to_owned()
            })
        );
    }
}
