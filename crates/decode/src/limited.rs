//! A reader that refuses to inflate past a bound: the zip-bomb guard.

use std::fmt;
use std::io::{self, Read};

/// The error a [`Limited`] reader returns once its bound is passed.
#[derive(Debug)]
pub struct LimitExceeded {
    pub limit: u64,
    pub compressed: u64,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "inflated past {} bytes from {} compressed bytes (possible decompression bomb)",
            self.limit, self.compressed
        )
    }
}

impl std::error::Error for LimitExceeded {}

/// Passes bytes through until `limit` bytes have been read, then fails every read.
pub struct Limited<R> {
    inner: R,
    read: u64,
    limit: u64,
    compressed: u64,
}

impl<R: Read> Limited<R> {
    /// The bound for `compressed` input bytes under `limits`.
    pub fn for_compressed(inner: R, compressed: u64, limits: &crate::Limits) -> Self {
        let by_ratio = compressed
            .saturating_mul(limits.max_inflate_ratio)
            .max(limits.ratio_floor_bytes);
        Limited {
            inner,
            read: 0,
            limit: by_ratio.min(limits.max_inflated_bytes),
            compressed,
        }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.read >= self.limit {
            // One more byte than allowed means the stream really is larger.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            return Err(io::Error::other(LimitExceeded {
                limit: self.limit,
                compressed: self.compressed,
            }));
        }
        let room = usize::try_from(self.limit - self.read).unwrap_or(usize::MAX);
        let n = buf.len().min(room);
        let got = self.inner.read(&mut buf[..n])?;
        self.read += got as u64;
        Ok(got)
    }
}

/// Whether an IO error is a [`LimitExceeded`], and its message if so.
pub fn limit_message(e: &io::Error) -> Option<String> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<LimitExceeded>())
        .map(ToString::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_past_the_bound_only() {
        let limits = crate::Limits {
            max_inflated_bytes: 1000,
            max_inflate_ratio: 10,
            ratio_floor_bytes: 50,
            ..Default::default()
        };
        let data = [7u8; 100];
        let mut exact = Limited::for_compressed(&data[..], 10, &limits);
        let mut out = Vec::new();
        exact.read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 100);

        let big = [7u8; 101];
        let mut over = Limited::for_compressed(&big[..], 10, &limits);
        let err = over.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(
            limit_message(&err)
                .unwrap()
                .contains("inflated past 100 bytes")
        );
    }
}
