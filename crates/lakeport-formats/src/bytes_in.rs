//! The byte pipeline in front of the text readers: decompression (gzip/zstd, by name or by magic
//! bytes), a size guard against decompression bombs, byte order marks, and transcoding other
//! encodings to UTF-8 with `encoding_rs` (the WHATWG Encoding Standard's decoders).

use std::pin::Pin;

use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream};
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::io::StreamReader;

use crate::error::ReadCause;
use crate::{Compression, FileKind, FormatError, ReadOptions};

/// Where the start of a text file shows binary content: a NUL byte, or (for UTF-8) a byte
/// sequence that is not UTF-8. A multi-byte character cut by the end of the chunk is fine.
/// Returns the offset and whether it is a NUL byte.
fn binary_offset(chunk: &[u8], decoded: bool) -> Option<(usize, bool)> {
    let nul = chunk.iter().position(|&b| b == 0);
    let bad_utf8 = match (decoded, std::str::from_utf8(chunk)) {
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
/// differ by the UTF-8 BOM this pipeline removes, and not at all otherwise — except for other
/// encodings, whose transcoding changes byte lengths: there no exact offset is claimed.
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
    /// The encoding when the file has no BOM.
    encoding: &'static encoding_rs::Encoding,
    /// The decoder to UTF-8, when the text is not UTF-8 (known once the first chunk was read).
    decoder: Option<encoding_rs::Decoder>,
    /// Line breaks in the decoded text so far (to place decoding errors).
    lines: u64,
    ended: bool,
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
            Some(Err(e)) => return Err(FormatError::Read { file: name.to_string(), message: e.to_string(), cause: ReadCause::of_transfer(&e) }),
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
            encoding: options.csv.encoding.get(),
            decoder: None,
            lines: 0,
            ended: false,
            at_start: true,
            total: 0,
            limit: options.max_decompressed_bytes,
            compressed: compression != Compression::None,
        })
    }

    /// How text offsets map to file offsets. Complete once the first chunk has been read.
    pub(crate) fn offsets(&self) -> Offsets {
        Offsets { removed: self.removed, exact: self.decoder.is_none() }
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
                // Decoders report corrupt or truncated input as InvalidData / UnexpectedEof (a
                // failing body stream arrives as Other): compression-codecs' gzip and zstd decoders.
                cause: match e.kind() {
                    std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::FileTooLarge if self.compressed => ReadCause::Content,
                    _ => ReadCause::of_transfer(&e),
                },
            })?;
            if read == 0 {
                break;
            }
        }
        let n = buf.len();
        if n == 0 {
            return match self.decoder.as_mut() {
                // The end of the input: a character cut by it is an error, not a dropped byte.
                Some(_) if !self.ended => {
                    self.ended = true;
                    let text = self.decode(&[], true)?;
                    Ok((!text.is_empty()).then(|| Bytes::from(text)))
                }
                _ => Ok(None),
            };
        }
        self.total += n as u64;
        if self.total > self.limit {
            return Err(FormatError::Read {
                file: self.name.clone(),
                message: format!("decompressed size exceeds the limit of {} bytes (a decompression bomb?)", self.limit),
                cause: ReadCause::Content,
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
            // A byte order mark decides the encoding by itself (as in the WHATWG decode algorithm).
            let encoding = match encoding_rs::Encoding::for_bom(&bytes) {
                Some((e, len)) => {
                    bytes = bytes.slice(len..);
                    self.removed = len as u64;
                    e
                }
                None => self.encoding,
            };
            if encoding != encoding_rs::UTF_8 {
                self.decoder = Some(encoding.new_decoder_without_bom_handling());
            } else if let Some((offset, nul)) = binary_offset(&bytes, false) {
                let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                return Err(FormatError::Parse {
                    file: self.name.clone(),
                    at: crate::error::Position { line: std::num::NonZeroU64::new(line), byte: Some(offset as u64 + self.removed), column: None },
                    message: if nul { nul_hint(&bytes) } else { encoding_hint(&bytes) },
                });
            }
        }
        if self.decoder.is_some() {
            let text = self.decode(&bytes, false)?;
            if self.lines == 0 {
                if let Some((offset, _)) = binary_offset(text.as_bytes(), true) {
                    let line = text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                    return Err(FormatError::Parse {
                        file: self.name.clone(),
                        at: crate::error::Position { line: std::num::NonZeroU64::new(line), byte: None, column: None },
                        message: format!("this is not {} text (a NUL character)", self.decoder.as_ref().map_or("", |d| d.encoding().name())),
                    });
                }
            }
            self.lines += text.bytes().filter(|&b| b == b'\n').count() as u64;
            return Ok(Some(Bytes::from(text)));
        }
        Ok(Some(bytes))
    }

    /// Decodes the next piece of a non-UTF-8 file; bytes that are not valid in its encoding are
    /// an error naming their line, never replaced.
    fn decode(&mut self, input: &[u8], last: bool) -> Result<String, FormatError> {
        let decoder = self.decoder.as_mut().expect("a decoder");
        let mut out = String::with_capacity(decoder.max_utf8_buffer_length_without_replacement(input.len()).unwrap_or(input.len() * 3));
        let (result, _read) = decoder.decode_to_string_without_replacement(input, &mut out, last);
        match result {
            encoding_rs::DecoderResult::InputEmpty => Ok(out),
            encoding_rs::DecoderResult::Malformed(..) => {
                let line = self.lines + out.bytes().filter(|&b| b == b'\n').count() as u64 + 1;
                Err(FormatError::Parse {
                    file: self.name.clone(),
                    at: crate::error::Position { line: std::num::NonZeroU64::new(line), byte: None, column: None },
                    message: format!("bytes that are not valid {} text (set the file's encoding)", decoder.encoding().name()),
                })
            }
            // The buffer is sized for the whole input.
            encoding_rs::DecoderResult::OutputFull => unreachable!("decode buffer sized by max_utf8_buffer_length"),
        }
    }
}

/// The message for a NUL byte at the start of a file that was read as UTF-8: UTF-16 text without
/// a byte order mark has a NUL next to every ASCII character; say which to set.
fn nul_hint(start: &[u8]) -> String {
    let sample = &start[..start.len().min(4096) & !1];
    let (even, odd) = sample.chunks(2).fold((0, 0), |(e, o), p| (e + usize::from(p[0] == 0), o + usize::from(p[1] == 0)));
    let pairs = sample.len() / 2;
    if pairs >= 2 && odd * 10 >= pairs * 3 && even * 10 < pairs {
        "this looks like UTF-16LE text without a byte order mark: set the encoding to utf-16le".into()
    } else if pairs >= 2 && even * 10 >= pairs * 3 && odd * 10 < pairs {
        "this looks like UTF-16BE text without a byte order mark: set the encoding to utf-16be".into()
    } else {
        "this is not a text file (a NUL byte)".into()
    }
}

/// The message for bytes that are not UTF-8 at the start of a file: the encoding to set instead,
/// one that decodes these bytes (Shift_JIS if it decodes them all, else windows-1252, which maps
/// every byte).
pub(crate) fn encoding_hint(start: &[u8]) -> String {
    let sample = &start[..start.len().min(64 << 10)];
    // Not the last input: a multi-byte character cut at the end of the sample is fine.
    let mut d = encoding_rs::SHIFT_JIS.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(sample.len() * 3);
    let sjis = matches!(d.decode_to_string_without_replacement(sample, &mut out, false).0, encoding_rs::DecoderResult::InputEmpty);
    let guess = if sjis && sample.iter().any(|&b| b >= 0x80) { "shift_jis" } else { "windows-1252" };
    format!("invalid UTF-8: the file is in another encoding; set it (e.g. {guess}, as a WHATWG label)")
}
