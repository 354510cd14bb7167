//! Bytes received on a connection and not yet decoded, in memory the driver can account
//! for exactly.
//!
//! A length prefix is a claim, not an allocation: the buffer grows in [`INPUT_STEP`]
//! steps only as bytes actually arrive, never past the end of the frame being received
//! plus what has been received after it, and is given back as soon as it is empty. So
//! [`FrameInput::memory`] (its capacity) is what the driver charges to a relay-wide
//! budget, and [`FrameInput::growth_for`] tells it, before reading, how much more a read
//! could cost.

use boucle_wire::{ClientFrame, MAX_FRAME_LEN, WireError, decode_payload};

/// Granularity of the buffer's growth.
pub const INPUT_STEP: usize = 16 * 1024;

const LEN_PREFIX: usize = 4;

#[derive(Debug)]
pub(crate) struct FrameInput {
    buf: Vec<u8>,
    start: usize,
    max_frame: usize,
}

impl FrameInput {
    pub(crate) fn new(max_frame: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            max_frame: max_frame.min(MAX_FRAME_LEN),
        }
    }

    /// Bytes received, not yet decoded.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Memory held (the buffer's capacity).
    pub(crate) fn memory(&self) -> usize {
        self.buf.capacity()
    }

    /// The size of the frame being received (prefix included), once its prefix is in.
    fn current_frame_len(&self) -> Option<usize> {
        let available = &self.buf[self.start..];
        let prefix: [u8; LEN_PREFIX] = available.get(..LEN_PREFIX)?.try_into().ok()?;
        Some(LEN_PREFIX + (u32::from_be_bytes(prefix) as usize).min(self.max_frame))
    }

    /// The capacity that holding `len` buffered bytes calls for.
    fn capacity_for(&self, len: usize) -> usize {
        if len <= self.buf.capacity() {
            return self.buf.capacity();
        }
        let stepped = len.div_ceil(INPUT_STEP) * INPUT_STEP;
        // Never reserve past the end of the frame being received (if it is the last
        // thing in the buffer): a length prefix alone does not buy memory.
        match self.current_frame_len() {
            Some(frame) if frame >= len => stepped.min(frame),
            _ => stepped,
        }
    }

    /// How much [`FrameInput::memory`] could grow if `n` more bytes were added now.
    pub(crate) fn growth_for(&self, n: usize) -> usize {
        let len = self.buffered() + n;
        let after = self.capacity_for(len).max(len);
        after.saturating_sub(self.buf.capacity())
    }

    /// Adds received bytes.
    pub(crate) fn extend(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let len = self.buf.len() + data.len();
        let capacity = self.capacity_for(len).max(len);
        if capacity > self.buf.capacity() {
            self.buf.reserve_exact(capacity - self.buf.len());
        }
        self.buf.extend_from_slice(data);
    }

    /// Gives memory back: all of it once everything is decoded, or the excess over what
    /// the frame being received needs.
    pub(crate) fn trim(&mut self) {
        if self.buffered() == 0 {
            if self.buf.capacity() > 0 {
                self.buf = Vec::new();
            }
            self.start = 0;
            return;
        }
        let keep = self.buffered().div_ceil(INPUT_STEP) * INPUT_STEP;
        if self.buf.capacity() > keep + 2 * INPUT_STEP {
            self.buf.drain(..self.start);
            self.start = 0;
            self.buf.shrink_to(keep);
        }
    }

    /// Decodes the next complete frame, if any. On a recoverable error
    /// ([`WireError::is_fatal`] is false) the bad frame has been consumed.
    pub(crate) fn decode(&mut self) -> Result<Option<ClientFrame>, WireError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use boucle_wire::{Command, RequestId, encode_frame};

    fn ping(n: u32) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(
            &ClientFrame {
                request: RequestId(n),
                command: Command::Ping,
            },
            &mut out,
        )
        .unwrap();
        out
    }

    #[test]
    fn a_length_prefix_alone_buys_no_memory() {
        let mut input = FrameInput::new(MAX_FRAME_LEN);
        input.extend(&[0, 8, 0, 0, 1]);
        assert!(input.memory() <= INPUT_STEP);
        // One byte short of a 512 KiB frame: memory is what arrived, rounded to a step.
        let mut sent = 5;
        while sent < 4 + 512 * 1024 - 1 {
            let n = 1200.min(4 + 512 * 1024 - 1 - sent);
            assert!(input.growth_for(n) <= INPUT_STEP);
            let before = input.memory();
            input.extend(&vec![0u8; n]);
            assert!(input.memory() - before <= INPUT_STEP);
            sent += n;
        }
        assert!(input.memory() <= 4 + 512 * 1024, "{}", input.memory());
        assert_eq!(input.decode(), Ok(None));
    }

    #[test]
    fn memory_is_given_back_once_decoded() {
        let mut input = FrameInput::new(MAX_FRAME_LEN);
        let mut bytes = Vec::new();
        for n in 0..10_000 {
            bytes.extend(ping(n));
        }
        input.extend(&bytes);
        let mut seen = 0;
        while let Some(frame) = input.decode().unwrap() {
            assert_eq!(frame.request, RequestId(seen));
            seen += 1;
        }
        assert_eq!(seen, 10_000);
        input.trim();
        assert_eq!(input.memory(), 0);
    }

    #[test]
    fn growth_for_is_an_upper_bound() {
        let mut input = FrameInput::new(MAX_FRAME_LEN);
        let frames: Vec<u8> = (0..3_000).flat_map(ping).collect();
        for chunk in frames.chunks(977) {
            let promised = input.growth_for(chunk.len());
            let before = input.memory();
            input.extend(chunk);
            assert!(input.memory() - before <= promised);
            while input.decode().unwrap().is_some() {}
            input.trim();
        }
        assert_eq!(input.buffered(), 0);
    }
}
