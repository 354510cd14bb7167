//! Framing: how messages are laid out on a QUIC stream.
//!
//! ```text
//! frame   = length version payload
//! length  = u32, big-endian: number of bytes that follow (version + payload), 1..=MAX_FRAME_LEN
//! version = u8, PROTOCOL_VERSION
//! payload = postcard encoding of a ClientFrame (client to relay) or ServerFrame (relay to client)
//! ```
//!
//! A frame with a bad payload or an unknown version is skipped whole: the length prefix
//! keeps the stream in sync, so the receiver can answer with an error and go on. A frame
//! whose length exceeds the limit cannot be skipped safely and ends the connection.

use serde::{Serialize, de::DeserializeOwned};

use crate::PROTOCOL_VERSION;
use crate::error::WireError;

/// The largest frame (version byte and payload) this protocol allows.
pub const MAX_FRAME_LEN: usize = 512 * 1024;

const LEN_PREFIX: usize = 4;

/// Appends one frame carrying `message` to `out`.
pub fn encode_frame<T: Serialize>(message: &T, out: &mut Vec<u8>) -> Result<(), WireError> {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0, PROTOCOL_VERSION]);
    let encoded = postcard::to_extend(message, std::mem::take(out))
        .map_err(|e| WireError::Malformed(e.to_string()));
    match encoded {
        Ok(buf) => *out = buf,
        Err(e) => return Err(e),
    }
    let len = out.len() - start - LEN_PREFIX;
    if len > MAX_FRAME_LEN {
        out.truncate(start);
        return Err(WireError::FrameTooLarge {
            max: MAX_FRAME_LEN,
            actual: len,
        });
    }
    // len <= MAX_FRAME_LEN < u32::MAX
    out[start..start + LEN_PREFIX].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(())
}

/// Encodes one frame into a new buffer.
pub fn frame_bytes<T: Serialize>(message: &T) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    encode_frame(message, &mut out)?;
    Ok(out)
}

/// Splits a byte stream into frames and decodes them. Feed it bytes as they arrive with
/// [`FrameDecoder::extend`], then call [`FrameDecoder::decode`] until it returns
/// `Ok(None)`.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
    max_frame: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(MAX_FRAME_LEN)
    }
}

impl FrameDecoder {
    /// A decoder refusing frames longer than `max_frame` (capped at [`MAX_FRAME_LEN`]).
    pub fn new(max_frame: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            max_frame: max_frame.min(MAX_FRAME_LEN),
        }
    }

    /// Adds received bytes.
    pub fn extend(&mut self, data: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 64 * 1024 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes received but not yet consumed as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Decodes the next complete frame, if any.
    ///
    /// On a recoverable error ([`WireError::is_fatal`] is false) the bad frame has been
    /// consumed and decoding may continue with the next one.
    pub fn decode<T: DeserializeOwned>(&mut self) -> Result<Option<T>, WireError> {
        let available = &self.buf[self.start..];
        let Some(prefix) = available.get(..LEN_PREFIX) else {
            return Ok(None);
        };
        let mut len_bytes = [0u8; LEN_PREFIX];
        len_bytes.copy_from_slice(prefix);
        let len = u32::from_be_bytes(len_bytes) as usize;
        if len > self.max_frame {
            return Err(WireError::FrameTooLarge {
                max: self.max_frame,
                actual: len,
            });
        }
        let Some(frame) = available.get(LEN_PREFIX..LEN_PREFIX + len) else {
            return Ok(None);
        };
        self.start += LEN_PREFIX + len;
        decode_payload(frame).map(Some)
    }
}

/// Decodes a frame's content (version byte and payload, without the length prefix).
pub fn decode_payload<T: DeserializeOwned>(frame: &[u8]) -> Result<T, WireError> {
    let Some((&version, payload)) = frame.split_first() else {
        return Err(WireError::EmptyFrame);
    };
    if version != PROTOCOL_VERSION {
        return Err(WireError::UnsupportedVersion(version));
    }
    let (message, rest) =
        postcard::take_from_bytes(payload).map_err(|e| WireError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(WireError::Malformed(format!(
            "{} trailing bytes after the message",
            rest.len()
        )));
    }
    Ok(message)
}

impl WireError {
    /// Whether the stream can no longer be decoded after this error.
    pub fn is_fatal(&self) -> bool {
        matches!(self, WireError::FrameTooLarge { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RequestId;
    use crate::message::{ClientFrame, Command};

    fn ping(n: u32) -> ClientFrame {
        ClientFrame {
            request: RequestId(n),
            command: Command::Ping,
        }
    }

    #[test]
    fn frames_split_anywhere_decode_in_order() {
        let mut bytes = Vec::new();
        for n in 0..50 {
            encode_frame(&ping(n), &mut bytes).unwrap();
        }
        for chunk in [1usize, 2, 3, 7, 64] {
            let mut decoder = FrameDecoder::default();
            let mut seen = Vec::new();
            for piece in bytes.chunks(chunk) {
                decoder.extend(piece);
                while let Some(frame) = decoder.decode::<ClientFrame>().unwrap() {
                    seen.push(frame.request.0);
                }
            }
            assert_eq!(seen, (0..50).collect::<Vec<_>>());
            assert_eq!(decoder.buffered(), 0);
        }
    }

    #[test]
    fn bad_frame_is_skipped_and_the_next_decodes() {
        let mut bytes = vec![0, 0, 0, 3, PROTOCOL_VERSION, 0xff, 0xff];
        encode_frame(&ping(9), &mut bytes).unwrap();
        let mut decoder = FrameDecoder::default();
        decoder.extend(&bytes);
        let err = decoder.decode::<ClientFrame>().unwrap_err();
        assert!(!err.is_fatal());
        assert_eq!(decoder.decode::<ClientFrame>().unwrap(), Some(ping(9)));
    }

    #[test]
    fn unknown_version_is_reported() {
        let mut decoder = FrameDecoder::default();
        decoder.extend(&[0, 0, 0, 1, 99]);
        assert_eq!(
            decoder.decode::<ClientFrame>(),
            Err(WireError::UnsupportedVersion(99))
        );
    }

    #[test]
    fn oversized_frame_is_fatal() {
        let mut decoder = FrameDecoder::new(1024);
        decoder.extend(&[0, 0, 4, 1]);
        let err = decoder.decode::<ClientFrame>().unwrap_err();
        assert!(err.is_fatal());
    }
}
