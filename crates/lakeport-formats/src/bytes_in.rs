//! The byte pipeline in front of the text readers: decompression (gzip/zstd, by name or by magic
//! bytes), a size guard against decompression bombs, UTF-8 BOM removal and latin-1 transcoding.

use std::pin::Pin;

use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream};
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::io::StreamReader;

use crate::{Compression, Encoding, FileFormat, FileKind, FormatError, ReadOptions};

/// Where the start of a text file shows binary content: a NUL byte, or (for UTF-8) a byte
/// sequence that is not UTF-8. A multi-byte character cut by the end of the chunk is fine.
/// Returns the offset and whether it is a NUL byte.
fn binary_offset(chunk: &[u8], latin1: bool) -> Option<(usize, bool)> {
    let nul = chunk.iter().position(|&b| b == 0);
    let bad_utf8 = match (latin1, std::str::from_utf8(chunk)) {
        (true, _) | (_, Ok(_)) => None,
        (false, Err(e)) if e.error_len().is_none() => None,
        (false, Err(e)) => Some(e.valid_up_to()),
    };
    match (nul, bad_utf8) {
        (Some(n), Some(u)) if u < n => Some((u, false)),
        (Some(n), _) => Some((n, true)),
        (None, Some(u)) => Some((u, false)),
        (None, None) => None,
    }
}

/// An object's raw bytes as they arrive from the source.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

const CHUNK: usize = 256 * 1024;
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// Turns offsets in the text a reader sees back into offsets in the decompressed file. The two
/// differ by the UTF-8 BOM this pipeline removes, and not at all otherwise — except for latin-1,
/// whose transcoding makes every byte >= 0x80 two bytes long: there no exact offset is claimed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Offsets {
    removed: u64,
    exact: bool,
}

impl Offsets {
    /// Text offsets that are file offsets (no BOM, UTF-8).
    #[cfg(test)]
    pub(crate) const SAME: Offsets = Offsets { removed: 0, exact: true };

    pub(crate) fn file_offset(self, text_offset: u64) -> Option<u64> {
        self.exact.then_some(text_offset + self.removed)
    }
}

pub(crate) struct Chunks {
    name: String,
    /// Bytes removed before the text starts (a BOM); known once the first chunk was read.
    removed: u64,
    reader: Pin<Box<dyn AsyncRead + Send>>,
    latin1: bool,
    at_start: bool,
    total: u64,
    limit: u64,
    compressed: bool,
}

impl Chunks {
    pub(crate) async fn open(name: &str, kind: FileKind, mut stream: ByteStream, options: &ReadOptions) -> Result<Chunks, FormatError> {
        // Peek at the first bytes so a compressed object without a .gz/.zst name is still read.
        let first = match stream.next().await {
            Some(Ok(b)) => b,
            Some(Err(e)) => return Err(FormatError::Read { file: name.to_string(), message: e.to_string() }),
            None => Bytes::new(),
        };
        let compression = match kind.compression {
            Compression::None if first.starts_with(GZIP_MAGIC) => Compression::Gzip,
            Compression::None if first.starts_with(ZSTD_MAGIC) => Compression::Zstd,
            c => c,
        };
        let raw = StreamReader::new(stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(stream));
        let reader: Pin<Box<dyn AsyncRead + Send>> = match compression {
            Compression::None => Box::pin(raw),
            Compression::Gzip => {
                let mut d = GzipDecoder::new(raw);
                d.multiple_members(true);
                Box::pin(d)
            }
            Compression::Zstd => Box::pin(ZstdDecoder::new(raw)),
        };
        Ok(Chunks {
            name: name.to_string(),
            removed: 0,
            reader,
            latin1: kind.format == FileFormat::Csv && options.csv.encoding == Encoding::Latin1,
            at_start: true,
            total: 0,
            limit: options.max_decompressed_bytes,
            compressed: compression != Compression::None,
        })
    }

    /// How text offsets map to file offsets. Complete once the first chunk has been read.
    pub(crate) fn offsets(&self) -> Offsets {
        Offsets { removed: self.removed, exact: !self.latin1 }
    }

    /// The next chunk of decoded text bytes, `None` at the end of the object.
    pub(crate) async fn next(&mut self) -> Result<Option<Bytes>, FormatError> {
        // Fill the chunk before handing it on: bodies arrive in pieces of a few KiB, and a chunk
        // (one allocation) per piece would be wasted work. Only an object's last chunk is short.
        let mut buf = BytesMut::with_capacity(CHUNK);
        while buf.len() < CHUNK {
            let read = self.reader.read_buf(&mut buf).await.map_err(|e| FormatError::Read {
                file: self.name.clone(),
                message: if self.compressed { format!("decompression failed: {e}") } else { e.to_string() },
            })?;
            if read == 0 {
                break;
            }
        }
        let n = buf.len();
        if n == 0 {
            return Ok(None);
        }
        self.total += n as u64;
        if self.total > self.limit {
            return Err(FormatError::Read {
                file: self.name.clone(),
                message: format!("decompressed size exceeds the limit of {} bytes (a decompression bomb?)", self.limit),
            });
        }
        // A short last chunk (all of a small object) would otherwise pin the whole 256 KiB
        // allocation for as long as the sample is kept; copy it into a buffer of its own size.
        let mut bytes = if n < CHUNK / 4 { Bytes::copy_from_slice(&buf) } else { buf.freeze() };
        if self.at_start {
            self.at_start = false;
            if bytes.starts_with(b"PAR1") {
                return Err(FormatError::Unsupported {
                    file: self.name.clone(),
                    message: "this is a Parquet file, not text: give it a .parquet name".into(),
                });
            }
            if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
                bytes = bytes.slice(3..);
                self.removed = 3;
            }
            if let Some((offset, nul)) = binary_offset(&bytes, self.latin1) {
                // The check runs before latin-1 transcoding, so the offset is exact for both encodings.
                let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                return Err(FormatError::Parse {
                    file: self.name.clone(),
                    at: crate::error::Position { line: std::num::NonZeroU64::new(line), byte: Some(offset as u64 + self.removed), column: None },
                    message: if nul {
                        "this is not a text file (a NUL byte)".to_string()
                    } else {
                        "invalid UTF-8 (is the file latin-1? set the encoding to latin-1)".to_string()
                    },
                });
            }
        }
        if self.latin1 && bytes.iter().any(|b| *b >= 0x80) {
            // ISO-8859-1 maps each byte to the code point of the same value.
            let s: String = bytes.iter().map(|&b| b as char).collect();
            bytes = Bytes::from(s.into_bytes());
        }
        Ok(Some(bytes))
    }
}
